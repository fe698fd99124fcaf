/**
 * One character written as an escape, as vendors and the proxies before them
 * echo a key: %-encoded in a URL (ASCII only: "%E9" is one byte of a UTF-8
 * character), JSON-escaped ("\/" as PHP's json_encode writes a slash,
 * "\u002b"), or an HTML character reference ("&#43;" as Go's html/template
 * writes a plus, "&#x2F;", "&amp;"). Only escapes of a character a secret
 * may hold (Latin-1: header-safe-secret.ts) are read; others stay as written.
 */
const ESCAPE = /%([0-7][0-9a-fA-F])|\\u00([0-9a-fA-F]{2})|\\([\\/"])|&#([0-9]{1,3});|&#[xX]([0-9a-fA-F]{1,2});|&(amp|lt|gt|quot|apos);/y;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
/** The characters that may begin an escape: a text without any is read as it is, at no cost. */
const ESCAPE_START = /[%\\&]/;

/** The most characters one escape above takes ("&#255;", "\u00ff"): a secret echoed escaped is at most this many times longer. */
export const LONGEST_ESCAPE = 6;

/**
 * The text with each escape read as the character it stands for, and where
 * each of its characters starts in the original (`starts[i]`; one more entry
 * for the end), so that what is found in it is cut from the original. No
 * `starts` when nothing was read (most texts hold no escape): each character
 * starts where it is.
 */
export function unescaped(text: string): { text: string; starts?: number[] } {
  if (!ESCAPE_START.test(text)) return { text };
  let out = "";
  let any = false;
  const starts: number[] = [];
  for (let i = 0; i < text.length; ) {
    starts.push(i);
    const read = ESCAPE_START.test(text[i]!) ? escapeAt(text, i) : undefined;
    if (read) {
      out += read.char;
      i += read.length;
      any = true;
    } else {
      out += text[i];
      i++;
    }
  }
  starts.push(text.length);
  return any ? { text: out, starts } : { text };
}

/** The escape at `text[at]`: the character it stands for and how many characters it takes; undefined when there is none. */
function escapeAt(text: string, at: number): { char: string; length: number } | undefined {
  ESCAPE.lastIndex = at;
  const match = ESCAPE.exec(text);
  if (!match) return undefined;
  const [whole, percent, jsonHex, jsonChar, decimal, hex, named] = match;
  if (jsonChar !== undefined) return { char: jsonChar, length: whole.length };
  if (named !== undefined) return { char: NAMED[named]!, length: whole.length };
  const code = decimal !== undefined ? parseInt(decimal, 10) : parseInt((percent ?? jsonHex ?? hex)!, 16);
  return code <= 0xff ? { char: String.fromCharCode(code), length: whole.length } : undefined;
}
