import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatStreamResponseSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { LogprobsSchema, ToolCallDeltaSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { deltaResponse } from "../../src/gateway/delta-response.js";
import type { ChatStreamDelta } from "../../src/providers/provider.js";

describe("a stream's delta event", () => {
  const logprobs = create(LogprobsSchema, { content: [{ token: "Hi", logprob: -0.1, bytes: new Uint8Array([72, 105]), topLogprobs: [{ token: "Hi", logprob: -0.1 }] }] });
  const deltas: ChatStreamDelta[] = [
    { type: "delta", content: "Hello", toolCalls: [] },
    {
      type: "delta",
      content: "",
      toolCalls: [create(ToolCallDeltaSchema, { index: 1, id: "call_1", name: "f", argumentsFragment: '{"a"' })],
      reasoning: "think",
      refusal: "no",
      reasoningBlocks: [create(ReasoningBlockSchema, { text: "t", signature: "s" })],
    },
    // The first delta of an OpenAI answer asked for log probabilities: its identity, and its tokens'.
    { type: "delta", content: "Hi", toolCalls: [], logprobs, id: "chatcmpl-1", vendorModel: "gpt-4o-2024-08-06", systemFingerprint: "fp_1", serviceTier: "default" },
  ];

  it.each(deltas)("is the message create() makes", (delta) => {
    const { type: _type, reasoning, reasoningBlocks, ...rest } = delta;
    const made = create(ChatStreamResponseSchema, { event: { case: "delta", value: { ...rest, reasoningContent: reasoning ?? "", refusal: delta.refusal ?? "", reasoning: reasoningBlocks ?? [] } } });
    expect(deltaResponse(delta)).toStrictEqual(made);
    expect(toBinary(ChatStreamResponseSchema, deltaResponse(delta))).toEqual(toBinary(ChatStreamResponseSchema, made));
  });
});
