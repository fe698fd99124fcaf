import { fromJsonString } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasDuplicateKeys } from "../../src/server/lean-rpc/connect-json.js";

// The lean path's cheaper checks must refuse exactly what protobuf-es's refuse.

/** Whether protobuf-es refuses JSON text for a duplicate key (google.protobuf.Value takes any JSON). */
function protobufEsSeesDuplicate(text: string): boolean {
  try {
    fromJsonString(ValueSchema, text);
    return false;
  } catch (err) {
    return /duplicate object key/.test((err as Error).message);
  }
}

/** Member names drawn from a few, some spelt with escapes, so that duplicates (plain or escaped) are common. */
const name = fc.constantFrom('"a"', '"b"', '"\\u0061"', '"a\\"b"', '"a\\\\"', '"\\\\"', '"x\\ny"', '"x\\u000ay"', '""');
const text = fc.constantFrom('"plain"', '"with \\"quotes\\" inside"', '"back\\\\slash"', '"{[,:]}"', '"\\u00e9t\\u00e9"', '"word word word"');
const { json } = fc.letrec<{ json: string; object: string; array: string }>((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, text, fc.constantFrom("1", "-2.5e3", "true", "null"), tie("object"), tie("array")),
  object: fc.array(fc.tuple(name, tie("json")), { maxLength: 5 }).map((members) => `{ ${members.map(([k, v]) => `${k} : ${v}`).join(" , ")} }`),
  array: fc.array(tie("json"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
}));

describe("the duplicate-key scan", () => {
  it("finds exactly the duplicates protobuf-es refuses, at any depth, escapes decoded", () => {
    fc.assert(
      fc.property(json, (text) => {
        expect(hasDuplicateKeys(text)).toBe(protobufEsSeesDuplicate(text));
      }),
      { numRuns: 3_000 },
    );
  });

  it("in the cases that matter", () => {
    expect(hasDuplicateKeys('{"a":1,"a":2}')).toBe(true);
    expect(hasDuplicateKeys('{"a":1,"\\u0061":2}')).toBe(true);
    expect(hasDuplicateKeys('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toBe(false);
    expect(hasDuplicateKeys('{"a":"\\"a\\":","b":1}')).toBe(false);
    expect(hasDuplicateKeys(`{"prompt":"${"word ".repeat(12_000)}","model":"m","prompt":""}`)).toBe(true);
  });
});

describe("the UTF-8 check", () => {
  it("isWellFormed refuses exactly the strings encodeURIComponent throws on", () => {
    const codeUnits = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0xd7f0, max: 0xe010 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 12 });
    fc.assert(
      fc.property(codeUnits, (units) => {
        const s = String.fromCharCode(...units) as string & { isWellFormed(): boolean };
        let throws = false;
        try {
          encodeURIComponent(s);
        } catch {
          throws = true;
        }
        expect(s.isWellFormed()).toBe(!throws);
      }),
      { numRuns: 5_000 },
    );
  });
});
