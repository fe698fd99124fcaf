// Which function schemas OpenAI's strict mode takes as they are: the ones a
// Responses caller that leaves `strict` out is held to strictly.
import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { strictModeTakesAsIs } from "../../../src/providers/openai-responses/strict-schema.js";

const closed = (properties: JsonObject, extra: JsonObject = {}): JsonObject => ({ type: "object", properties, required: Object.keys(properties), additionalProperties: false, ...extra });

describe("strictModeTakesAsIs", () => {
  it.each<[string, JsonObject]>([
    ["a closed object of scalars", closed({ a: { type: "string" }, b: { type: ["integer", "null"] } })],
    ["the constraints strict mode lists", closed({ s: { type: "string", pattern: "^a", format: "email", description: "d", title: "t" }, n: { type: "number", minimum: 0, maximum: 9, multipleOf: 1 }, l: { type: "array", items: { enum: ["a", "b"] }, minItems: 1, maxItems: 2 }, k: { const: "k" } })],
    ["an object with no properties, closed", closed({})],
    ["nested closed objects, in properties and array items", closed({ list: { type: "array", items: closed({ x: { type: "number" } }) } })],
    ["anyOf of closed objects", closed({ v: { anyOf: [closed({ x: { type: "string" } }), { type: "null" }] } })],
    ["$defs referred to", closed({ node: { $ref: "#/$defs/node" } }, { $defs: { node: closed({ name: { type: "string" } }) } })],
  ])("takes %s", (_, schema) => {
    expect(strictModeTakesAsIs(schema)).toBe(true);
  });

  it.each<[string, JsonObject | undefined]>([
    ["no schema", undefined],
    ["a root that is no object", { type: "string" }],
    ["an object left open", { type: "object", properties: { a: { type: "string" } }, required: ["a"] }],
    ["an optional property", { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["a"], additionalProperties: false }],
    ["a nested object left open", closed({ inner: { type: "object", properties: { x: { type: "string" } }, required: ["x"] } })],
    ["an open object among array items", closed({ list: { type: "array", items: { type: "object", properties: {} } } })],
    ["an open object in anyOf", closed({ v: { anyOf: [{ type: "object", properties: {} }, { type: "null" }] } })],
    ["an open object in $defs", closed({}, { $defs: { node: { type: "object", properties: {} } } })],
    ["a free-form object (additionalProperties: true)", closed({ data: { type: "object", additionalProperties: true } })],
    ["allOf", closed({ v: { allOf: [closed({})] } })],
    ["oneOf", closed({ v: { oneOf: [{ type: "string" }, { type: "number" }] } })],
    ["a keyword strict mode does not list (default)", closed({ v: { type: "string", default: "x" } })],
    ["a keyword strict mode does not list (minLength)", closed({ v: { type: "string", minLength: 1 } })],
  ])("does not take %s", (_, schema) => {
    expect(strictModeTakesAsIs(schema)).toBe(false);
  });

  it("stops at a nesting past the one documented bound, not at the call stack", () => {
    let schema: JsonObject = closed({});
    for (let i = 0; i < 10_000; i++) schema = closed({ inner: schema });
    expect(strictModeTakesAsIs(schema)).toBe(false);
  });
});
