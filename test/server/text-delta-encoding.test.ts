import { create, fromBinary } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AIService, ChatStreamResponseSchema, type ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { encodeTextDelta, encodeTextDeltaJson } from "../../src/server/lean-rpc/text-delta-encoding.js";

// What connect-es writes ChatStream's answers with, in each format.
const connectEs = createMethodSerializationLookup(AIService.method.chatStream, undefined, undefined, { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff });
const forms = [
  { form: "binary", encode: encodeTextDelta, reference: connectEs.getO(true) },
  { form: "JSON", encode: encodeTextDeltaJson, reference: connectEs.getO(false) },
];

const hex = (bytes: Uint8Array | undefined) => bytes && Buffer.from(bytes).toString("hex");
const delta = (value: { content?: string; reasoningContent?: string; refusal?: string }) => create(ChatStreamResponseSchema, { event: { case: "delta", value } });

// Text as a vendor's stream may carry it: any UTF-16, lone surrogates and characters JSON escapes included,
// short and past a varint's 1- and 2-byte lengths.
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("a", "é", "中", "😀", "\ud800", "\udfff", '"', "\\", "\n", "\u0000", "\u2028"), minLength: 100, maxLength: 9_000 }),
  fc.constant(""),
);

describe.each(forms)("a text delta written straight to its $form form", ({ encode, reference }) => {
  it("is byte for byte what connect-es's serialization writes", () => {
    fc.assert(
      fc.property(text, text, text, (content, reasoningContent, refusal) => {
        const message = delta({ content, reasoningContent, refusal });
        expect(hex(encode(message))).toBe(hex(reference.serialize(message)));
      }),
      { numRuns: 1_000 },
    );
    expect(hex(encode(delta({})))).toBe(hex(reference.serialize(delta({}))));
  });

  it("reads back as the text it was given", () => {
    const decoded = reference.parse(encode(delta({ content: "Hello, 世界 😀", refusal: "no" }))!);
    expect(decoded.event).toMatchObject({ case: "delta", value: { content: "Hello, 世界 😀", reasoningContent: "", refusal: "no" } });
  });

  it("leaves every other event to connect-es", () => {
    const others: ChatStreamResponse[] = [
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", toolCalls: [{ index: 0, name: "f" }] } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { reasoning: [{ text: "t", signature: "s" }] } } }),
      // Log probabilities and the first delta's identity, which the text alone would lose.
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", logprobs: { content: [{ token: "x", logprob: -0.5 }] } } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", id: "chatcmpl-1" } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", vendorModel: "gpt-4o-2024-08-06" } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", systemFingerprint: "fp_1" } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", serviceTier: "default" } } }),
      create(ChatStreamResponseSchema, { event: { case: "summary", value: { id: "c1" } } }),
      create(ChatStreamResponseSchema, {}),
      { ...delta({ content: "x" }), $unknown: [{ no: 9, wireType: 0, data: new Uint8Array([1]) }] },
      // Fields not filled in by create(): the serialization's defaults apply.
      { $typeName: "switchboard.v1.ChatStreamResponse", event: { case: "delta", value: { content: "x" } } } as unknown as ChatStreamResponse,
    ];
    for (const message of others) expect(encode(message)).toBeUndefined();
  });
});

describe("the binary form", () => {
  it("decodes with protobuf-es", () => {
    expect(fromBinary(ChatStreamResponseSchema, encodeTextDelta(delta({ content: "é" }))!).event.value).toMatchObject({ content: "é" });
  });
});
