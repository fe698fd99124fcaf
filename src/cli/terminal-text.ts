/** C0 and C1 control characters: ESC, BEL and CSI can clear an operator's screen or retitle the window. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from the gateway (key names, teams, the models callers asked for) as
 * a terminal may show it: each control character written out as "\xNN", so
 * what an admin or a caller typed is seen, never obeyed.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTER, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
