/** C0 and C1 control characters: ESC, BEL and CSI can clear an operator's screen or retitle the window, and break log lines and label values. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Characters that show nothing, or change how the text around them shows:
 * Unicode's format characters (zero-width spaces and joiners, bidi overrides
 * and isolates, the BOM, the soft hyphen) and the line and paragraph
 * separators. In a team or a name they make "payments\u200b" look like
 * "payments" while filters miss it, and U+202E reverses what a terminal shows.
 */
export const INVISIBLE_CHARACTERS = /[\p{Cf}\u2028\u2029]/gu;

/** Whether `text` holds any control character, or any invisible one (see INVISIBLE_CHARACTERS). */
export function hasControlCharacter(text: string): boolean {
  CONTROL_CHARACTERS.lastIndex = 0;
  INVISIBLE_CHARACTERS.lastIndex = 0;
  return CONTROL_CHARACTERS.test(text) || INVISIBLE_CHARACTERS.test(text);
}

/**
 * Text a caller or an admin wrote (key names, teams, model names, a request's
 * path) as a terminal or a log viewer may show it: each control character
 * written out as "\xNN", and each invisible one (a zero-width space, a bidi
 * override) as "\u{NNNN}", so what was typed is seen, never obeyed.
 */
export function printable(text: string): string {
  return text
    .replace(CONTROL_CHARACTERS, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(INVISIBLE_CHARACTERS, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
