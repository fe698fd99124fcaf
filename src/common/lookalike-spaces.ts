/**
 * Unicode's space separators (Zs) but the ASCII space: U+00A0 NO-BREAK SPACE,
 * U+1680, U+2000–U+200A, U+202F, U+205F and U+3000 IDEOGRAPHIC SPACE. Each
 * draws as a space, or as almost nothing, so "gpt-4o\u00a0" or "pay\u3000ments"
 * reads as a name it is not, and misses the route, scope or team it seems to
 * match. Control and invisible characters are control-characters.ts's.
 */
export const LOOKALIKE_SPACES = /(?! )\p{Zs}/gu;

/** White space at either end, once control characters and look-alike spaces are refused: the ASCII space. */
const EDGE_SPACE = /^ | $/;

/** "U+00A0": a character as Unicode names its code point. */
export function codePointLabel(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `name`, an identifier the gateway matches exactly (a model name, a team,
 * a key's display name, a scope's glob), would read as another: a space that
 * is not the ASCII one, named by its code point, or a space at either end.
 * Undefined when there is none. Free text (messages, descriptions) is never
 * checked so.
 */
export function lookalikeSpaceProblem(name: string): string | undefined {
  LOOKALIKE_SPACES.lastIndex = 0;
  const found = LOOKALIKE_SPACES.exec(name);
  if (found) return `must not contain ${codePointLabel(found[0])}, a space other than the ASCII one: it reads as " " or as nothing, so the name would look like one it is not`;
  if (EDGE_SPACE.test(name)) return "must not start or end with a space: it would look like the name without it";
  return undefined;
}
