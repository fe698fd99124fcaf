import { stringEnd } from "../../common/json-nesting.js";

const QUOTE = 0x22; // "
const COMMA = 0x2c; // ,
const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {

/** What each byte is to the scan: most are nothing (0), and one lookup tells them apart. */
const OTHER = 0;
const STRING = 1;
const CONTAINER = 2;
const VALUE = 3;
const CLASS = new Uint8Array(256);
CLASS[QUOTE] = STRING;
CLASS[OPEN_ARRAY] = CONTAINER;
CLASS[OPEN_OBJECT] = CONTAINER;
CLASS[COMMA] = VALUE;

/**
 * The most JSON objects and arrays one whole answer may hold: 2 Mi. The byte
 * bound alone does not bound what parsing builds: an object takes about 70
 * bytes of heap and `{},` three of the wire, so 32 MiB of them took 750 MB and
 * 6 s of the event loop, and an embedding answer's 288 MiB exhausted the heap.
 * A real answer has one per 25 bytes or more (a logprobs answer, the densest,
 * an object and an array per alternative token): 32 MiB of it about 1.3 Mi.
 */
export const MAX_ANSWER_CONTAINERS = 2 * 1024 * 1024;

/** The most JSON values (objects, arrays, and items after a comma) one whole answer may hold: 8 Mi, about 4 Mi in 32 MiB of logprobs. */
export const MAX_ANSWER_VALUES = 8 * 1024 * 1024;

/** What a JSON text holds, as counted by jsonShapePast. */
export interface JsonShape {
  /** Objects and arrays. */
  containers: number;
  /** Objects and arrays, plus one for every comma: within twice the values and members it holds. */
  values: number;
}

/**
 * Which count of the JSON text (as UTF-8 bytes) passes `limit`, stopping
 * there, or undefined when none does: counted before JSON.parse builds the
 * value, in one pass with no allocation. Brackets and commas count outside
 * strings only (a string is skipped to its closing quote, as
 * ../../common/json-nesting.ts skips it); UTF-8 never puts these ASCII bytes inside
 * a multi-byte character. A string left open ends the count.
 */
export function jsonShapePast(bytes: Buffer, limit: JsonShape): keyof JsonShape | undefined {
  const length = bytes.length;
  // Each object, array or comma takes a byte at least: a text no longer than the limits cannot pass them (most answers).
  if (length <= limit.containers && length <= limit.values) return undefined;
  let containers = 0;
  let values = 0;
  for (let i = 0; i < length; i++) {
    const kind = CLASS[bytes[i]!]!;
    if (kind === OTHER) continue;
    if (kind === STRING) {
      i = stringEnd(bytes, i);
      if (i === -1) return undefined;
      continue;
    }
    if (kind === CONTAINER && ++containers > limit.containers) return "containers";
    if (++values > limit.values) return "values";
  }
  return undefined;
}
