/** The longest name SECRET_NAME (encrypted-file-store.ts) allows. */
const MAX_NAME_CHARS = 128;

/**
 * What is wrong with a name the encrypted file cannot store, in words that
 * never quote it: a name that fails is often a key pasted where the name goes
 * (a base64 one has '+' and '='), and quoted it would land in the terminal,
 * a CI log or a shell's history of errors. Says its length and the first
 * kind of character it may not hold, and where; undefined for a valid name.
 */
export function secretNameProblem(name: string): string | undefined {
  const chars = [...name];
  const rule = `a secret's name is 1 to ${MAX_NAME_CHARS} letters, digits, '.', '_', '/' and '-', starting with a letter or digit`;
  const given = `the name given (not shown: it may be a key pasted there) has ${chars.length} character${chars.length === 1 ? "" : "s"}`;
  if (chars.length === 0) return `${rule}; the name given is empty`;
  const offending = chars.findIndex((char, i) => !(i === 0 ? /^[A-Za-z0-9]$/ : /^[A-Za-z0-9._/-]$/).test(char));
  if (offending >= 0) return `${rule}; ${given}, and character ${offending + 1} is ${kindOf(chars[offending]!, offending === 0)}`;
  if (chars.length > MAX_NAME_CHARS) return `${rule}; ${given}`;
  return undefined;
}

/** The kind of a character a name may not hold there, never the character itself. */
function kindOf(char: string, first: boolean): string {
  if (first && /^[._/-]$/.test(char)) return "punctuation, where a letter or digit must start the name";
  if (/^\s$/u.test(char)) return "a space or other whitespace";
  if (/^\p{Cc}$/u.test(char)) return "a control character";
  if (char.codePointAt(0)! > 0x7e) return "a non-ASCII character";
  return "a symbol other than '.', '_', '/' and '-'";
}
