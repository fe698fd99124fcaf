// JSON.stringify escapes a long string a character at a time (about 1 ns a
// character on Node 20, a 60 KB prompt 60 µs), builds the text as a rope
// that Buffer.from must flatten, and then the text is encoded again as
// UTF-8. A string with nothing to escape is written here as its UTF-8 bytes,
// checked a word at a time, and the text around it as JSON.stringify writes
// it: the same bytes in about a quarter of the CPU.

/** Strings at least this long are checked and copied as bytes; below it JSON.stringify's own loop costs less than the check. */
export const LONG_STRING = 1024;

/** Deeper than this, the value is left to JSON.stringify whole (a cycle among them, which it refuses). */
const MAX_WALK_DEPTH = 256;

/** ES2024's String.prototype.isWellFormed (Node 20 has it; the ES2023 lib this project compiles against does not name it). */
type WellFormed = string & { isWellFormed(): boolean };

/**
 * `Buffer.from(JSON.stringify(value))`, byte for byte and error for error,
 * at less cost when the value holds long strings (LONG_STRING) with nothing
 * in them to escape (a prompt, a base64 image): the vendor request and the
 * answer bodies. Made for plain data (objects and arrays of Object's and
 * Array's own prototypes, without toJSON, and primitives), which the codecs
 * build; a value holding anything else is left to JSON.stringify whole.
 */
export function jsonBytes(value: unknown): Buffer<ArrayBuffer> {
  const holders = longStringHolders(value);
  if (holders === undefined) return Buffer.from(JSON.stringify(value));
  const writer = new PieceWriter(holders);
  writer.write(value);
  return writer.bytes() ?? Buffer.from(JSON.stringify(value));
}

/**
 * The objects and arrays that hold a long string, at any depth, or
 * undefined when none does (or a long string is the whole value) or when
 * the value holds something other than plain data.
 */
function longStringHolders(value: unknown): Set<object> | undefined {
  if (typeof value === "string") return value.length >= LONG_STRING ? new Set() : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  const holders = new Set<object>();
  try {
    return markHolders(value, holders, 0) ? holders : undefined;
  } catch (err) {
    if (err === NOT_PLAIN) return undefined;
    throw err;
  }
}

const NOT_PLAIN = new Error("not plain data");

/** Whether `container` holds a long string, adding it (and every container on the way to one) to `holders`. */
function markHolders(container: object, holders: Set<object>, depth: number): boolean {
  const prototype = Object.getPrototypeOf(container);
  if (depth > MAX_WALK_DEPTH || "toJSON" in container) throw NOT_PLAIN;
  let holds = false;
  if (Array.isArray(container)) {
    if (prototype !== Array.prototype) throw NOT_PLAIN;
    for (let i = 0; i < container.length; i++) if (holdsLong(container[i], holders, depth)) holds = true;
  } else {
    if (prototype !== Object.prototype && prototype !== null) throw NOT_PLAIN;
    // Inherited keys too (there are none on plain data): marking more than JSON.stringify writes is harmless.
    for (const key in container) if (holdsLong((container as Record<string, unknown>)[key], holders, depth)) holds = true;
  }
  if (holds) holders.add(container);
  return holds;
}

function holdsLong(member: unknown, holders: Set<object>, depth: number): boolean {
  if (typeof member === "string") return member.length >= LONG_STRING;
  return typeof member === "object" && member !== null && markHolders(member, holders, depth + 1);
}

/**
 * JSON text in pieces: JSON.stringify's text, and between pieces of it the
 * long strings that may need no escaping, each to be written as it is.
 */
class PieceWriter {
  /** Text, then a long string, then text, and so on: odd places hold the long strings. */
  private readonly pieces: string[] = [];
  private text = "";

  constructor(private readonly holders: Set<object>) {}

  write(value: unknown): void {
    if (typeof value === "string" && value.length >= LONG_STRING) return this.writeLong(value);
    if (typeof value !== "object" || value === null || !this.holders.has(value)) {
      this.text += JSON.stringify(value);
      return;
    }
    if (Array.isArray(value)) {
      this.text += "[";
      for (let i = 0; i < value.length; i++) {
        if (i > 0) this.text += ",";
        const item: unknown = value[i];
        // As JSON.stringify writes what JSON has no value for, in an array.
        if (item === undefined || typeof item === "function" || typeof item === "symbol") this.text += "null";
        else this.write(item);
      }
      this.text += "]";
      return;
    }
    this.text += "{";
    let first = true;
    for (const key of Object.keys(value)) {
      const member: unknown = (value as Record<string, unknown>)[key];
      // As JSON.stringify leaves out a member JSON has no value for.
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      this.text += `${first ? "" : ","}${JSON.stringify(key)}:`;
      first = false;
      this.write(member);
    }
    this.text += "}";
  }

  /**
   * The pieces as UTF-8, in one allocation (as Buffer.from(text) makes: a
   * buffer of its own per body costs the collector more than its copy), or
   * undefined when a long string turns out to hold a control character,
   * which JSON.stringify escapes.
   */
  bytes(): Buffer<ArrayBuffer> | undefined {
    const pieces = [...this.pieces, this.text];
    let size = 0;
    for (const piece of pieces) size += Buffer.byteLength(piece);
    const bytes = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      const written = bytes.write(pieces[i]!, at);
      if (i % 2 === 1 && holdsControlCharacter(bytes.subarray(at, at + written))) return undefined;
      at += written;
    }
    return bytes;
  }

  private writeLong(value: string): void {
    if (!mayBeUnescaped(value)) {
      this.text += JSON.stringify(value);
      return;
    }
    this.pieces.push(`${this.text}"`, value);
    this.text = '"';
  }
}

/**
 * Whether JSON.stringify may write a string as it is between its quotes:
 * it holds no quote, backslash or lone surrogate, nor the commonest
 * control character, a newline (searched for natively: text holding
 * escapes seldom goes long without one). Other control characters are
 * looked for in its bytes, once written.
 */
function mayBeUnescaped(value: string): boolean {
  return value.indexOf("\n") === -1 && value.indexOf('"') === -1 && value.indexOf("\\") === -1 && (value as WellFormed).isWellFormed();
}

const EMPTY_WORDS = new Uint32Array(0);

/**
 * Whether UTF-8 bytes hold a control character (below 0x20), four bytes at
 * a time: a byte below 0x20 borrows when 0x20 is taken from it and had its
 * high bit clear, so `(x - 0x20202020) & ~x` sets the high bit of some byte
 * exactly when one does (a borrow carried on comes only after such a byte).
 * Bytes of multi-byte characters are all 0x80 or above, never mistaken.
 */
export function holdsControlCharacter(bytes: Uint8Array): boolean {
  const length = bytes.length;
  // Byte by byte up to a 4-byte boundary (Buffer.from's own allocations start on one), and after the last word.
  let start = 0;
  while (start < length && (bytes.byteOffset + start) % 4 !== 0) if (bytes[start++]! < 0x20) return true;
  const count = (length - start) >>> 2;
  // No view when there is no whole word: the start may then be off a boundary, which a view refuses.
  const words = count > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + start, count) : EMPTY_WORDS;
  let found = 0;
  for (let i = 0; i < count; i++) {
    const word = words[i]!;
    found |= (word - 0x20202020) & ~word;
  }
  if ((found & 0x80808080) !== 0) return true;
  for (let i = start + count * 4; i < length; i++) if (bytes[i]! < 0x20) return true;
  return false;
}
