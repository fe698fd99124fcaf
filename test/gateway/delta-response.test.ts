import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatStreamResponseSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ToolCallDeltaSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { deltaResponse } from "../../src/gateway/delta-response.js";

describe("a stream's delta event", () => {
  const deltas = [
    { content: "Hello", toolCalls: [], reasoningContent: "", refusal: "", reasoning: [] },
    { content: "", toolCalls: [create(ToolCallDeltaSchema, { index: 1, id: "call_1", name: "f", argumentsFragment: '{"a"' })], reasoningContent: "think", refusal: "no", reasoning: [create(ReasoningBlockSchema, { text: "t", signature: "s" })] },
  ];

  it.each(deltas)("is the message create() makes", (delta) => {
    const made = create(ChatStreamResponseSchema, { event: { case: "delta", value: delta } });
    expect(deltaResponse(delta)).toStrictEqual(made);
    expect(toBinary(ChatStreamResponseSchema, deltaResponse(delta))).toEqual(toBinary(ChatStreamResponseSchema, made));
  });
});
