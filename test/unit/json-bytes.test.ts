import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { holdsControlCharacter, jsonBytes, LONG_STRING } from "../../src/common/json-bytes.js";

// jsonBytes writes JSON.stringify's bytes without JSON.stringify's loop over
// long strings with nothing to escape (src/common/json-bytes.ts): every
// value, plain or not, must come out byte for byte as Buffer.from(JSON.stringify(value)).

const stringified = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Characters that matter to JSON text: escaped ones, multi-byte ones, a surrogate pair, lone halves, U+2028. */
const piece = fc.constantFrom("word ", "a", "\n", "\t", "\r", "\b", "\f", "\u0000", "\u001f", "\u007f", '"', "\\", "/", "é", "語", "😀", "\ud800", "\udc00", "\u2028", "\ufeff");
/** Mostly text with nothing to escape, sometimes one piece that is: both sides of the long-string fast path. */
const longString = fc
  .tuple(fc.constantFrom("word ", "ab", "é", "語", "😀", "x".repeat(97)), fc.array(piece, { maxLength: 2 }), fc.nat(LONG_STRING * 3), fc.nat())
  .map(([unit, odd, extra, at]) => {
    const text = unit.repeat(Math.ceil((LONG_STRING + extra) / unit.length));
    const cut = at % text.length;
    return text.slice(0, cut) + odd.join("") + text.slice(cut);
  });
const shortString = fc.array(piece, { maxLength: 6 }).map((pieces) => pieces.join(""));
const leaf = fc.oneof(
  longString,
  shortString,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol("s")),
  fc.constant(new Date(0)),
  fc.constant({ toJSON: (key: string) => `toJSON(${key})` }),
);
const { value } = fc.letrec<{ value: unknown; object: unknown; array: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("object"), tie("array")),
  object: fc.oneof(
    fc.dictionary(fc.oneof(shortString, longString), tie("value"), { maxKeys: 4 }),
    fc.dictionary(shortString, tie("value"), { maxKeys: 3 }).map((entries) => Object.assign(Object.create(null) as object, entries)),
  ),
  array: fc.oneof(
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(tie("value"), { maxLength: 3 }).map((items) => Object.assign([, ...items], { extra: "not written" })),
  ),
}));

describe("jsonBytes", () => {
  it("writes Buffer.from(JSON.stringify(value)), whatever the value holds", () => {
    fc.assert(
      fc.property(value, (v) => {
        if (v === undefined || typeof v === "function" || typeof v === "symbol") return;
        expect(jsonBytes(v).equals(stringified(v))).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it("writes a long string with nothing to escape as its bytes, at every length and offset, and one holding any escape as JSON.stringify does", () => {
    fc.assert(
      fc.property(longString, fc.nat(7), (text, lead) => {
        const body = { model: "m", messages: [{ role: "user", content: text }], n: lead };
        expect(jsonBytes(body).toString()).toBe(JSON.stringify(body));
        expect(jsonBytes(text).toString()).toBe(JSON.stringify(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it("leaves the long string to no character loop of JSON.stringify's when nothing in it needs escaping", () => {
    const prompt = "word ".repeat(12_000);
    const body = { model: "gpt-4o", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: prompt }], temperature: 0.2 };
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      expect(jsonBytes(body).toString()).toBe(`{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"${prompt}"}],"temperature":0.2}`);
      expect(stringify.mock.calls.some(([arg]) => arg === prompt || arg === body || arg === body.messages)).toBe(false);
    } finally {
      stringify.mockRestore();
    }
  });

  it("fails as JSON.stringify fails: a BigInt, a cycle, nothing to write", () => {
    const long = "x".repeat(LONG_STRING);
    const cyclic: Record<string, unknown> = { text: long };
    cyclic.self = cyclic;
    for (const bad of [{ text: long, seed: 1n }, cyclic, [long, { deep: 2n }]]) {
      expect(() => jsonBytes(bad)).toThrow(errorOf(() => stringified(bad)));
    }
    expect(() => jsonBytes(undefined)).toThrow(errorOf(() => stringified(undefined)));
  });
});

describe("holdsControlCharacter", () => {
  it("finds a byte below 0x20 anywhere, at any alignment, and nothing else", () => {
    const base = Buffer.from("abcdefghijklmnopqrstuvwxyz é 語 😀 ~\u007f");
    for (let start = 0; start < 4; start++) {
      for (let end = start; end <= base.length; end++) {
        const view = base.subarray(start, end);
        expect(holdsControlCharacter(view)).toBe(false);
        for (let at = 0; at < view.length; at++) {
          for (const control of [0x00, 0x0a, 0x1f]) {
            const copy = Buffer.from(view);
            copy[at] = control;
            expect(holdsControlCharacter(copy.subarray(0))).toBe(true);
            const shifted = Buffer.concat([Buffer.from("abc".slice(0, start)), copy]).subarray(start);
            expect(holdsControlCharacter(shifted)).toBe(true);
          }
        }
      }
    }
  });
});

function errorOf(fail: () => unknown): string {
  try {
    fail();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("did not fail");
}
