// Issue 14 (agent surfaces): a tool call streamed with text between its
// fragments stays one tool_use; made-up call ids are unique across answers and
// repeated ids go to Claude unique; a vendor's 413 stays a 413; the vendor's
// own code reaches OpenAI callers.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatDeltaSchema, ChatRequestSchema, ChatSummarySchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role, ToolCallDeltaSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { toConnectError } from "../../src/gateway/errors.js";
import { anthropicHttpError, toAnthropicError } from "../../src/providers/anthropic/errors.js";
import { AnthropicEventWriter } from "../../src/providers/anthropic/messages-events.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import { fromOpenAIHttpError, toOpenAIError } from "../../src/providers/openai/errors.js";
import { fromOpenAIMessage } from "../../src/providers/openai/messages.js";
import { ToolCallFragments } from "../../src/providers/tool-call-fragments.js";
import { createCredential } from "../../src/secrets/credential.js";

const ctx = { provider: "vendor", credential: createCredential("vendor/test", "Zq7Vt0RMo3wXbN9cLp2EhYs6dKuJf8GiTa1W") };

describe("/v1/messages stream of a vendor whose tool input is held", () => {
  it("keeps a call whole when text comes between its argument fragments", () => {
    const writer = new AnthropicEventWriter("msg_1", "gpt-4o-mini");
    const call = (fields: { id?: string; name?: string; argumentsFragment: string }) => create(ChatDeltaSchema, { toolCalls: [create(ToolCallDeltaSchema, { index: 0, ...fields })] });
    const events = [
      ...writer.start(),
      ...writer.delta(call({ id: "call_A", name: "get", argumentsFragment: '{"q":' })),
      ...writer.delta(create(ChatDeltaSchema, { content: "\n" })),
      ...writer.delta(call({ argumentsFragment: '"x"}' })),
      ...writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.TOOL_CALLS })),
    ];
    const starts = events.filter((e) => e.event === "content_block_start").map((e) => e.data.content_block);
    expect(starts).toEqual([{ type: "text", text: "" }, { type: "tool_use", id: "call_A", name: "get", input: {} }]);
    const input = events.filter((e) => e.event === "content_block_delta" && (e.data.delta as { type: string }).type === "input_json_delta");
    expect(input.map((e) => (e.data.delta as { partial_json: string }).partial_json)).toEqual(['{"q":"x"}']);
  });
});

describe("made-up tool call ids", () => {
  it("differ from one streamed answer to the next", () => {
    const ids = [0, 1].map(() => new ToolCallFragments(ctx).read([{ index: 0, type: "function", function: { name: "get", arguments: "" } }], "tool_calls")[0]!.id);
    expect(ids[0]).toMatch(/^call_0_/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("differ from one whole answer to the next", () => {
    const answer = (id: string) => fromOpenAIMessage({ role: "assistant", tool_calls: [{ type: "function", function: { name: "get", arguments: "{}" } }] }, ctx, id).toolCalls[0]!.id;
    expect(answer("chatcmpl-1")).toBe("call_0_chatcmpl1");
    expect(answer("chatcmpl-2")).toBe("call_0_chatcmpl2");
  });

  it("repeated in an old conversation, go to Claude unique, each result following its call", () => {
    const call = { id: "call_0", name: "get", arguments: "{}" };
    const params = create(ChatRequestSchema, {
      model: "claude-sonnet-4-5",
      messages: [
        { role: Role.USER, content: "hi" },
        { role: Role.ASSISTANT, toolCalls: [call] },
        { role: Role.TOOL, toolCallId: "call_0", content: "one" },
        { role: Role.ASSISTANT, toolCalls: [call] },
        { role: Role.TOOL, toolCallId: "call_0", content: "two" },
      ],
    });
    const body = createAnthropicCodec({ provider: "anthropic" }).chatRequest(params, "claude-sonnet-4-5", false).body as { messages: { content: { id?: string; tool_use_id?: string }[] }[] };
    const ids = body.messages.slice(1).map((message) => message.content[0]!.id ?? message.content[0]!.tool_use_id);
    expect(ids).toEqual(["call_0", "call_0", "call_0_2", "call_0_2"]);
  });
});

describe("vendor errors on the agent surfaces", () => {
  it("a vendor's 413 request_too_large stays a 413 request_too_large on /v1/messages and a 413 on OpenAI's", () => {
    const body = JSON.stringify({ type: "error", error: { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." } });
    const error = toConnectError(anthropicHttpError(413, {}, body, ctx));
    const anthropic = toAnthropicError(error);
    expect(anthropic.status).toBe(413);
    expect((anthropic.body.error as { type: string }).type).toBe("request_too_large");
    expect(toOpenAIError(error).status).toBe(413);
  });

  it("OpenAI's own code for a refused request reaches OpenAI callers; a refused key keeps the gateway's reason", () => {
    const overflow = JSON.stringify({ error: { type: "invalid_request_error", param: "messages", code: "context_length_exceeded", message: "too long" } });
    expect((toOpenAIError(toConnectError(fromOpenAIHttpError(400, {}, overflow, ctx))).body.error as { code: string }).code).toBe("context_length_exceeded");
    const badKey = JSON.stringify({ error: { type: "invalid_request_error", code: "invalid_api_key", message: "bad key" } });
    expect((toOpenAIError(toConnectError(fromOpenAIHttpError(401, {}, badKey, ctx))).body.error as { code: string }).code).not.toBe("invalid_api_key");
  });
});
