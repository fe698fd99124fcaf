// What goes inside a frame: a request encoded as protobuf binary or JSON, as it
// is, damaged, or replaced by bytes no encoder would write. Each variant is a
// plain description (printed as the counterexample), applied to the encoding.
import { toBinary, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { concat, deepStruct, lengthDelimited, varint } from "../support/wire.js";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";
import { nested, type ApiRequest } from "./api-requests.js";

const mutation = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.op === "flip" && out.length > 0) out[at]! ^= 1 << m.bit;
    else if (m.op === "set" && out.length > 0) out[at] = m.byte;
    else if (m.op === "insert") out.splice(at, 0, m.byte);
    else if (m.op === "delete") out.splice(at, 1);
    else if (m.op === "truncate") out = out.slice(0, at);
  }
  return Uint8Array.from(out);
}

/** A field no encoder would write: any number, any wire type, bytes that may not fit either. */
const rawField = fc.record({
  field: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constantFrom(0, 19_000, 2 ** 29 - 1)),
  wireType: fc.integer({ min: 0, max: 7 }),
  declaredLength: fc.option(fc.nat({ max: 2 ** 31 }), { nil: undefined }),
  payload: fc.uint8Array({ maxLength: 24 }),
});

function encodeRawField(f: typeof rawField extends fc.Arbitrary<infer F> ? F : never): Uint8Array {
  const tag = varint(f.field * 8 + f.wireType);
  // Length-delimited fields get a length (true or not); the others carry their bytes as they are.
  const length = f.wireType === 2 ? varint(f.declaredLength ?? f.payload.length) : [];
  return Uint8Array.from([...tag, ...length, ...f.payload]);
}

/** How the protobuf binary of a request is sent. */
export const binaryVariant = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "as-is" as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("mutated" as const), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("extra-fields" as const), fields: fc.array(rawField, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
  {
    weight: 1,
    // vendor_options (14) or a tool's parameters (9 → 3) nesting around the limit, or far past it.
    arbitrary: fc.record({ kind: fc.constant("deep-struct" as const), depth: fc.constantFrom(MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 70, 1_000, 10_000), inTool: fc.boolean() }),
  },
);
export type BinaryVariant = typeof binaryVariant extends fc.Arbitrary<infer V> ? V : never;

export function binaryPayload(request: ApiRequest, variant: BinaryVariant): Uint8Array {
  const valid = toBinary(request.schema, request.message);
  switch (variant.kind) {
    case "as-is":
      return valid;
    case "mutated":
      return mutate(valid, variant.mutations);
    case "extra-fields":
      return concat(valid, ...variant.fields.map(encodeRawField));
    case "random":
      return variant.bytes;
    case "deep-struct": {
      const struct = deepStruct(variant.depth);
      return concat(valid, variant.inTool ? lengthDelimited(9, concat(lengthDelimited(1, [0x74]), lengthDelimited(3, struct))) : lengthDelimited(14, struct));
    }
  }
}

/** How the protobuf JSON of a request is sent. */
export const jsonVariant = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "as-is" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("field-replaced" as const), field: fc.constantFrom("model", "messages", "temperature", "maxTokens", "seed", "tools", "toolChoice", "responseFormat", "vendorOptions", "inputs", "role"), value: fc.jsonValue({ maxDepth: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("any-json" as const), value: fc.jsonValue({ maxDepth: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("not-json" as const), text: fc.string({ unit: "binary", maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deep" as const), depth: fc.constantFrom(MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1_000, 50_000), field: fc.constantFrom("vendorOptions", "model", "messages") }) },
);
export type JsonVariant = typeof jsonVariant extends fc.Arbitrary<infer V> ? V : never;

export function jsonPayload(request: ApiRequest, variant: JsonVariant): string {
  const valid = toJsonString(request.schema, request.message);
  switch (variant.kind) {
    case "as-is":
      return valid;
    case "field-replaced": {
      const object = JSON.parse(valid) as Record<string, unknown>;
      if (variant.field === "role" && Array.isArray(object.messages) && object.messages.length > 0) (object.messages[0] as Record<string, unknown>).role = variant.value;
      else object[variant.field] = variant.value;
      return JSON.stringify(object);
    }
    case "any-json":
      return JSON.stringify(variant.value);
    case "not-json":
      return variant.text;
    case "cut":
      return valid.slice(0, variant.at % (valid.length + 1));
    case "deep": {
      // Written as text: building 50,000 levels as objects to stringify them would overflow this test's own stack.
      const object = JSON.parse(valid) as Record<string, unknown>;
      object[variant.field] = "__DEEP__";
      const inner = variant.depth > 100 ? "[".repeat(variant.depth - 1) + "]".repeat(variant.depth - 1) : JSON.stringify(nested(variant.depth - 1));
      return JSON.stringify(object).replace('"__DEEP__"', `{"k":${inner}}`);
    }
  }
}
