import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from "../common/control-characters.js";

/**
 * Text from the gateway (key names, teams, the models callers asked for) as
 * a terminal may show it: each control character written out as "\xNN", and
 * each invisible one (a zero-width space, a bidi override) as "\u{NNNN}", so
 * what an admin or a caller typed is seen, never obeyed.
 */
export function printable(text: string): string {
  return text
    .replace(CONTROL_CHARACTERS, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(INVISIBLE_CHARACTERS, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
