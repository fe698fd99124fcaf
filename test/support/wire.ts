/**
 * Protobuf binary written by hand, for messages protobuf-es would refuse to
 * build or would overflow the stack building (invalid UTF-8, Structs nested
 * thousands deep).
 */

export function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A length-delimited field: tag, length, bytes. */
export function lengthDelimited(fieldNumber: number, bytes: Uint8Array | number[]): Uint8Array {
  return Uint8Array.from([...varint((fieldNumber << 3) | 2), ...varint(bytes.length), ...bytes]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * A `google.protobuf.Struct` nesting `depth` levels: {"a": {"a": … {}}}.
 * Built from the inside out as a list of headers, then written once, so a
 * 10,000-deep value costs no quadratic copying.
 */
export function deepStruct(depth: number): Uint8Array {
  const headers: number[][] = [];
  let size = 0; // the innermost Struct is empty
  for (let level = 1; level < depth; level++) {
    const value = [0x2a, ...varint(size)]; // Value.struct_value = 5
    const valueSize = value.length + size;
    const entry = [0x0a, 0x01, 0x61, 0x12, ...varint(valueSize)]; // map entry: key "a" = 1, value = 2
    const entrySize = entry.length + valueSize;
    const struct = [0x0a, ...varint(entrySize)]; // Struct.fields = 1
    headers.push([...value], [...entry], [...struct]);
    size = struct.length + entrySize;
  }
  return Uint8Array.from(headers.reverse().flat());
}
