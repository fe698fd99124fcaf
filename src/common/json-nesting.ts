const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const COLON = 0x3a; // :
const COMMA = 0x2c; // ,

/**
 * How deep a JSON value a request may carry: tool parameters, a response
 * schema, vendor options (the `google.protobuf.Struct` fields), a tool call's
 * arguments (JSON as text), and on the REST surface the whole body. Real JSON
 * schemas nest a dozen levels; the bound keeps hostile nesting (100,000
 * levels) away from everything that walks a value recursively (protobuf
 * encoding, JSON.stringify to vendors).
 */
export const MAX_JSON_DEPTH = 64;

/** The message for a value past the bound, the same on every surface. */
export const TOO_DEEP = `nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`;

/** How far into a string the scan steps a byte at a time before it searches for the closing quote. */
const BY_HAND = 32;

/** What jsonOutgrows holds JSON text to: its nesting, and its objects and values (../common/request-objects.ts). */
export interface JsonShapeLimits {
  depth: number;
  objects: number;
  values: number;
}

/**
 * The first of `limits` JSON text, as its UTF-8 bytes, breaks, or undefined:
 * "depth" when it opens objects and arrays more than `depth` levels inside
 * one another (`{}` and `[]` are one level, a scalar none); "objects" past
 * `objects` objects, arrays and object members (each `{`, `[` and `:`);
 * "values" past `values` values (each `{`, `[` and `,`: about one a value).
 * Counted before anything parses the text: JSON.parse builds a value of any
 * depth and size (seconds of CPU for 8 MiB of `[[[[` or `{},{},`), and only
 * then could the value be measured. One pass, no allocation, stopping at the
 * first byte past a limit. Brackets, colons and commas count outside strings
 * only: a string is skipped to its closing quote, a byte at a time for its
 * first few bytes (a backslash skipping the byte it escapes), then by
 * Buffer's indexOf (memchr) to the next quote, which ends the string unless
 * an odd run of backslashes comes right before it. UTF-8 never puts these
 * ASCII bytes inside a multi-byte character, so the bytes need no decoding.
 *
 * The depth is exact for text JSON.parse accepts (the same verdict as
 * measuring the parsed value); for text it refuses, exact up to where it
 * stops reading. A string (a tool call's arguments) is counted as its UTF-8 bytes.
 */
export function jsonOutgrows(text: Uint8Array | string, limits: JsonShapeLimits): keyof JsonShapeLimits | undefined {
  // Past a limit takes more bytes than that: most tool calls' arguments need no copy.
  if (text.length <= Math.min(limits.depth, limits.objects, limits.values)) return undefined;
  // A Buffer view of the same memory (no copy): its indexOf is native, a Uint8Array's a loop.
  const bytes = typeof text === "string" ? Buffer.from(text) : Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  const length = bytes.length;
  let depth = 0;
  let objects = 0;
  let values = 0;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      i = stringEnd(bytes, i);
      if (i === -1) return undefined; // a string left open: nothing after it counts
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > limits.depth) return "depth";
      if (++objects > limits.objects) return "objects";
      if (++values > limits.values) return "values";
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    } else if (byte === COLON) {
      if (++objects > limits.objects) return "objects";
    } else if (byte === COMMA) {
      if (++values > limits.values) return "values";
    }
  }
  return undefined;
}

/** Whether JSON text, as its UTF-8 bytes, nests objects and arrays more than `limit` levels deep (see jsonOutgrows). */
export function jsonNestsDeeperThan(text: Uint8Array | string, limit: number): boolean {
  return jsonOutgrows(text, { depth: limit, objects: Infinity, values: Infinity }) === "depth";
}

/**
 * Where the JSON string opened by the quote at `open` ends (its closing
 * quote), or -1 when none closes it: a byte at a time for its first few
 * bytes (a backslash skipping the byte it escapes), then by Buffer's indexOf
 * (memchr) to the next quote, which ends the string unless an odd run of
 * backslashes comes right before it.
 */
export function stringEnd(bytes: Buffer, open: number): number {
  const length = bytes.length;
  let at = open + 1;
  for (;;) {
    const stop = at + BY_HAND < length ? at + BY_HAND : length;
    while (at < stop) {
      const inner = bytes[at]!;
      if (inner === QUOTE) return at;
      at += inner === BACKSLASH ? 2 : 1;
    }
    const quote = bytes.indexOf(QUOTE, at);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if ((backslashes & 1) === 0) return quote;
    at = quote + 1;
  }
}
