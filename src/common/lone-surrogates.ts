// A JSON `\ud800` escape parses into a lone UTF-16 surrogate: a string no
// UTF-8 can carry. Protobuf's JSON reader refuses it ("invalid UTF8"), a
// vendor may too, and an encoder writes it as U+FFFD (so what is sent is not
// what was read).

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units: no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/** A `\uD800`-`\uDFFF` escape; global, so that a search starts at the first `\u`. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/g;

/**
 * Whether JSON text may parse into a lone surrogate: only an escape
 * (`\uD800`-`\uDFFF`) can make one, as UTF-8 text holds none. The regular
 * expression reads from the first `\u` on, found natively: it would take a
 * character at a time through the 60 KB of a prompt holding none.
 */
export function mayHoldLoneSurrogates(jsonText: string): boolean {
  const firstEscape = jsonText.indexOf("\\u");
  if (firstEscape === -1) return false;
  SURROGATE_ESCAPE.lastIndex = firstEscape;
  return SURROGATE_ESCAPE.test(jsonText);
}

/**
 * Where a parsed JSON value holds a lone surrogate, as a field path
 * (`input[2].content[0].text`; a key holding one is named by its path
 * too), or undefined when it holds none.
 */
export function loneSurrogateAt(value: unknown, path = ""): string | undefined {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? path || "(the body)" : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = loneSurrogateAt(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, entry] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (LONE_SURROGATE.test(key)) return at;
    const found = loneSurrogateAt(entry, at);
    if (found) return found;
  }
  return undefined;
}

/** A string with each lone surrogate replaced by U+FFFD, as `String.prototype.toWellFormed` does (ES2024). */
export function wellFormed(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, "\uFFFD") : text;
}
