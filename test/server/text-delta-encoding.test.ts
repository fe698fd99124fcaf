import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatStreamResponseSchema, type ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { encodeTextDelta } from "../../src/server/lean-rpc/text-delta-encoding.js";

const hex = (bytes: Uint8Array | undefined) => bytes && Buffer.from(bytes).toString("hex");
const delta = (value: { content?: string; reasoningContent?: string; refusal?: string }) => create(ChatStreamResponseSchema, { event: { case: "delta", value } });

// Text as a vendor's stream may carry it: any UTF-16, lone surrogates included, short and past a varint's 1- and 2-byte lengths.
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("a", "é", "中", "😀", "\ud800", "\udfff"), minLength: 100, maxLength: 9_000 }),
  fc.constant(""),
);

describe("a text delta written straight to protobuf's binary form", () => {
  it("is byte for byte what protobuf-es's toBinary writes", () => {
    fc.assert(
      fc.property(text, text, text, (content, reasoningContent, refusal) => {
        const message = delta({ content, reasoningContent, refusal });
        expect(hex(encodeTextDelta(message))).toBe(hex(toBinary(ChatStreamResponseSchema, message)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("writes an empty delta as toBinary does, and round-trips what it writes", () => {
    expect(hex(encodeTextDelta(delta({})))).toBe(hex(toBinary(ChatStreamResponseSchema, delta({}))));
    const decoded = fromBinary(ChatStreamResponseSchema, encodeTextDelta(delta({ content: "Hello, 世界 😀" }))!);
    expect(decoded.event).toMatchObject({ case: "delta", value: { content: "Hello, 世界 😀", reasoningContent: "", refusal: "" } });
  });

  it("leaves every other event to toBinary", () => {
    const others: ChatStreamResponse[] = [
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: "x", toolCalls: [{ index: 0, name: "f" }] } } }),
      create(ChatStreamResponseSchema, { event: { case: "delta", value: { reasoning: [{ text: "t", signature: "s" }] } } }),
      create(ChatStreamResponseSchema, { event: { case: "summary", value: { id: "c1" } } }),
      create(ChatStreamResponseSchema, {}),
      { ...delta({ content: "x" }), $unknown: [{ no: 9, wireType: 0, data: new Uint8Array([1]) }] },
      // Fields not filled in by create(): toBinary's defaults apply.
      { $typeName: "switchboard.v1.ChatStreamResponse", event: { case: "delta", value: { content: "x" } } } as unknown as ChatStreamResponse,
    ];
    for (const message of others) expect(encodeTextDelta(message)).toBeUndefined();
  });
});
