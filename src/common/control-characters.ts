/** C0 and C1 control characters: ESC, BEL and CSI can clear an operator's screen or retitle the window, and break log lines and label values. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Characters that show nothing, or change how the text around them shows:
 * Unicode's format characters (zero-width spaces and joiners, bidi overrides
 * and isolates, the BOM, the soft hyphen), every Default_Ignorable_Code_Point
 * (what a font may draw as nothing: the Hangul fillers U+115F, U+1160, U+3164
 * and U+FFA0, the grapheme joiner U+034F, Khmer U+17B4, variation selectors,
 * tags), and the line and paragraph separators. In a team or a name they make
 * "payments\u200b" or "user A\u3164" look like "payments" or "user A" while
 * filters miss it, and U+202E reverses what a terminal shows. Emoji sequences
 * that need a joiner (U+200D) or a variation selector (U+FE0F) are refused
 * with them: a name with them looks like one without them.
 */
export const INVISIBLE_CHARACTERS = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

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
 * override, a Hangul filler) as "\u{NNNN}", so what was typed is seen, never obeyed.
 */
export function printable(text: string): string {
  return text
    .replace(CONTROL_CHARACTERS, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(INVISIBLE_CHARACTERS, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
