// How a payload is framed for the length-prefixed protocols (gRPC, gRPC-Web,
// Connect streaming): one honest frame, or frames that lie (flags, lengths,
// count, compression), plus the call headers that steer decoding.
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { frame } from "../support/raw-rpc.js";
import { concat } from "../support/wire.js";

export const framing = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "one" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flags" as const), flags: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("length-lies" as const), delta: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1)) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "twice" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "empty-body" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("trailing" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  {
    weight: 2,
    // The compressed flag and the encoding header, agreeing or not, over data that is gzip or not.
    arbitrary: fc.record({
      kind: fc.constant("compressed" as const),
      encoding: fc.constantFrom("gzip", "br", "identity", "x-unknown", undefined),
      gzip: fc.boolean(),
      cutGzipAt: fc.option(fc.nat(), { nil: undefined }),
      flagged: fc.boolean(),
    }),
  },
);
export type Framing = typeof framing extends fc.Arbitrary<infer F> ? F : never;

/** The request body, and the encoding header it claims (for `compressed`). */
export function framed(payload: Uint8Array, how: Framing): { body: Uint8Array; encoding?: string } {
  switch (how.kind) {
    case "one":
      return { body: frame(payload) };
    case "flags":
      return { body: frame(payload, how.flags) };
    case "length-lies": {
      const body = frame(payload);
      new DataView(body.buffer).setUint32(1, Math.max(0, payload.byteLength + how.delta) % 2 ** 32);
      return { body };
    }
    case "twice":
      return { body: concat(frame(payload), frame(payload)) };
    case "empty-body":
      return { body: new Uint8Array() };
    case "cut": {
      const body = frame(payload);
      return { body: body.subarray(0, how.at % (body.byteLength + 1)) };
    }
    case "trailing":
      return { body: concat(frame(payload), how.bytes) };
    case "compressed": {
      let data: Uint8Array = how.gzip ? gzipSync(payload) : payload;
      if (how.cutGzipAt !== undefined) data = data.subarray(0, how.cutGzipAt % (data.byteLength + 1));
      return { body: frame(data, how.flagged ? 1 : 0), encoding: how.encoding };
    }
  }
}

/** Deadline headers, well-formed or not (in what a header can carry: visible ASCII). */
export const timeoutHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("1S", "100m", "5H", "0n", "99999999H", "-1S", "S", "1.5S", "0x10S") },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."0123456789HMSmun.-+e x"), maxLength: 10 }) },
);
