import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { jsonOutgrows, jsonNestsDeeperThan } from "../../src/common/json-nesting.js";
import { protobufOutgrows } from "../../src/server/protobuf-object-count.js";

const LOOSE = { depth: 1000, objects: Infinity, values: Infinity };

describe("jsonOutgrows", () => {
  it("counts objects, arrays and members as objects, and about one per value", () => {
    const text = '{"a":[1,2,3],"b":{"c":"x"}}'; // objects: { [ { and 3 members; values: { [ { and 3 commas
    expect(jsonOutgrows(text, { ...LOOSE, objects: 6 })).toBeUndefined();
    expect(jsonOutgrows(text, { ...LOOSE, objects: 5 })).toBe("objects");
    expect(jsonOutgrows(text, { ...LOOSE, values: 6 })).toBeUndefined();
    expect(jsonOutgrows(text, { ...LOOSE, values: 5 })).toBe("values");
  });

  it("counts nothing inside strings, escaped quotes included", () => {
    const text = `{"a":"{[,:]} \\" {[,:", "b":1}`;
    expect(jsonOutgrows(text, { ...LOOSE, objects: 3, values: 2 })).toBeUndefined();
  });

  it("says depth first, as jsonNestsDeeperThan does", () => {
    expect(jsonOutgrows("[[[[]]]]", { depth: 3, objects: 3, values: 3 })).toBe("depth");
    expect(jsonNestsDeeperThan("[[[[]]]]", 3)).toBe(true);
    expect(jsonNestsDeeperThan("[[[[]]]]", 4)).toBe(false);
  });

  it("stops counting at a string left open, and takes any bytes", () => {
    expect(jsonOutgrows('["{{{{,,,,::::', { depth: 1, objects: 1, values: 1 })).toBeUndefined();
    const random = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 256));
    expect(() => jsonOutgrows(random, { depth: 5, objects: 5, values: 5 })).not.toThrow();
  });
});

const chat = (init: Parameters<typeof create<typeof ChatRequestSchema>>[1]) => toBinary(ChatRequestSchema, create(ChatRequestSchema, init));
const limits = (objects: number, values: number) => ({ objects, values, recursionLimit: 100 });

describe("protobufOutgrows", () => {
  it("counts messages as objects and fields as values, as fromBinary reads them", () => {
    // The request, two messages and a part: 4 objects; model, 2 messages, their role and parts, the part's text: 6 fields.
    const bytes = chat({ model: "m", messages: [{ role: 1 }, { parts: [{ part: { case: "text", value: "t" } }] }] });
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(4, 6))).toBeUndefined();
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(3, 6))).toBe("objects");
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(4, 5))).toBe("values");
  });

  it("counts a Struct's entries and Values", () => {
    // The request, the Struct, one entry, its Value, the ListValue, and three Values: 8.
    const bytes = chat({ vendorOptions: { list: [1, 2, 3] } as JsonObject });
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(8, Infinity))).toBeUndefined();
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(7, Infinity))).toBe("objects");
  });

  it("counts unknown fields as values, groups among them, and skips their bytes", () => {
    // Field 1000 as a varint, then as a group holding a varint field 1: three values, no object.
    const bytes = Buffer.from([0xc0, 0x3e, 0x01, 0xc3, 0x3e, 0x08, 0x01, 0xc4, 0x3e]);
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(1, 3))).toBeUndefined();
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(1, 2))).toBe("values");
  });

  it.each([
    ["cut short inside a message", Buffer.from([0x12, 0x05, 0x12, 0x00])],
    ["a length past the end", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
    ["a varint of eleven bytes", Buffer.from([0x18, ...Array<number>(11).fill(0xff)])],
    ["field number 0", Buffer.from([0x02, 0x00])],
    ["wire type 7", Buffer.from([0x0f, 0x00])],
    ["an end-group tag out of place", Buffer.from([0xc4, 0x3e])],
    ["a group never ended", Buffer.from([0xc3, 0x3e, 0x08, 0x01])],
    ["nesting past the recursion limit", chat({ vendorOptions: Array.from({ length: 80 }).reduce<JsonObject>((inner) => ({ a: inner }), {}) })],
  ])("gives up on %s without throwing, leaving the error to fromBinary", (_, bytes) => {
    expect(protobufOutgrows(ChatRequestSchema, bytes, limits(1_000, 1_000))).toBeUndefined();
  });

  it("neither throws nor loops on any bytes", () => {
    let seed = 1;
    for (let round = 0; round < 2_000; round++) {
      const bytes = Buffer.from(Array.from({ length: 64 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff));
      expect(() => protobufOutgrows(ChatRequestSchema, bytes, limits(3, 3))).not.toThrow();
    }
  });
});
