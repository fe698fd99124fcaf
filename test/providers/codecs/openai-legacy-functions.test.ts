// OpenAI's legacy function calling in the OpenAI dialect's codec, both ways:
// a vendor's `message.function_call` and `delta.function_call` read as tool
// call 0 (ref vendor-wire-formats.md L56: finish_reason "function_call"), a
// caller's assistant `function_call` and `function` message (ref L43, the
// deprecated role) read as a tool call and its result, and the answer
// written back in the legacy shape to a caller that asked with `functions`.
// Also how a stream's `[DONE]` is matched (ref L63).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChatResponseSchema, ChatSummarySchema, ChatDeltaSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, MessageSchema, Role, ToolCallSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { openAIChunkDecoder, OpenAIChunkWriter } from "../../../src/providers/openai/chat-chunks.js";
import { fromOpenAIChatCompletion, toOpenAIChatCompletion } from "../../../src/providers/openai/chat-completion.js";
import { chatRequestFromOpenAI } from "../../../src/providers/openai/chat-request.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode } from "../../support/codec-fixtures.js";

const ctx: ErrorContext = { provider: "openai", credential: createCredential("openai/test", "sk-openai-codec-0123456789abcdef") };
const ARGUMENTS = '{"city":"Paris"}';
const FUNCTIONS = [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];

describe("a vendor's legacy function call", () => {
  it("in a whole answer is tool call 0, with an id made from the answer's", () => {
    const answer = fromOpenAIChatCompletion(
      {
        id: "chatcmpl-abc123",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: null, function_call: { name: "get_weather", arguments: ARGUMENTS } }, finish_reason: "function_call" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
      ctx,
    );
    expect(answer.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(answer.message.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, args }))).toEqual([{ id: "call_fn_chatcmplabc123", name: "get_weather", args: ARGUMENTS }]);
  });

  it("of an answer without an id, has an id of its own all the same: never one that repeats in the conversation", () => {
    const answer = () => fromOpenAIChatCompletion({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: null, function_call: { name: "get_weather", arguments: ARGUMENTS } }, finish_reason: "function_call" }] }, ctx);
    const [first, second] = [answer().message.toolCalls[0]!.id, answer().message.toolCalls[0]!.id];
    expect(first).toMatch(/^call_fn_[0-9a-f]{16}$/);
    expect(second).not.toBe(first);
  });

  it("streamed is tool call 0's fragments, the id with the first, the same id a whole answer gets", () => {
    const chunk = (delta: object, finish: string | null = null) => ({ data: { id: "chatcmpl-abc123", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] } });
    const { deltas, end } = decode(openAIChunkDecoder(ctx), [
      chunk({ role: "assistant", content: null, function_call: { name: "get_weather", arguments: "" } }),
      chunk({ function_call: { arguments: '{"city"' } }),
      chunk({ function_call: { arguments: ':"Paris"}' } }),
      chunk({}, "function_call"),
      { data: "[DONE]" },
    ]);
    const fragments = deltas.flatMap((delta) => delta.toolCalls.map(({ index, id, name, argumentsFragment }) => ({ index, id, name, argumentsFragment })));
    expect(fragments).toEqual([
      { index: 0, id: "call_fn_chatcmplabc123", name: "get_weather", argumentsFragment: "" },
      { index: 0, id: "", name: "", argumentsFragment: '{"city"' },
      { index: 0, id: "", name: "", argumentsFragment: ':"Paris"}' },
    ]);
    expect(end.finishReason).toBe(FinishReason.TOOL_CALLS);
  });
});

describe("a stream's end", () => {
  it.each(["[DONE]", "[DONE] ", "[DONE]\t", "[DONE]\r"])("is any data that starts with [DONE], as openai-python reads it: %j", (data) => {
    const decoder = openAIChunkDecoder(ctx);
    const { deltas, end } = decode(decoder, [{ data: { id: "chatcmpl-1", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: "stop" }] } }, { data }]);
    expect(deltas.map((delta) => delta.content)).toEqual(["Hi"]);
    expect(decoder.done).toBe(true);
    expect(end.finishReason).toBe(FinishReason.STOP);
  });

  it("without a finish reason before it, is a stream cut short: the answer may lack its tail", () => {
    const decoder = openAIChunkDecoder(ctx);
    decoder.next({ event: undefined, data: JSON.stringify({ id: "chatcmpl-1", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }) });
    decoder.next({ event: undefined, data: "[DONE]" });
    expect(() => decoder.finish()).toThrow(/ended the stream before the answer was complete/);
  });
});

describe("a caller's legacy conversation", () => {
  const conversation = [
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: null, function_call: { name: "get_weather", arguments: ARGUMENTS } },
    { role: "function", name: "get_weather", content: "sunny" },
  ];

  it("is a tool call and the tool result that answers it", () => {
    const { request, legacyFunctions } = chatRequestFromOpenAI({ model: "gpt-4o", functions: FUNCTIONS, messages: conversation });
    expect(legacyFunctions).toBe(true);
    const [, assistant, result] = request.messages;
    expect(assistant!.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, args }))).toEqual([{ id: "call_fn_m1", name: "get_weather", args: ARGUMENTS }]);
    expect(result).toMatchObject({ role: Role.TOOL, toolCallId: "call_fn_m1", content: "sunny", name: "" });
  });

  it("asks in the tools' shape when it sends no functions", () => {
    expect(chatRequestFromOpenAI({ model: "gpt-4o", messages: conversation }).legacyFunctions).toBe(false);
    expect(chatRequestFromOpenAI({ model: "gpt-4o", functions: [], messages: conversation }).legacyFunctions).toBe(false);
  });

  it("reads functions and function_call as the tools and tool choice that replaced them, for every vendor", () => {
    const { request } = chatRequestFromOpenAI({ model: "gpt-4o", functions: FUNCTIONS, function_call: { name: "get_weather" }, messages: conversation });
    expect(request.tools.map(({ name, parameters }) => ({ name, parameters }))).toEqual([{ name: "get_weather", parameters: FUNCTIONS[0]!.parameters }]);
    expect(request.toolChoice?.choice).toEqual({ case: "functionName", value: "get_weather" });
    // Not sent on as the caller's own fields besides.
    expect(request.vendorOptions).toBeUndefined();
  });

  it("refuses functions beside tools, as OpenAI does", () => {
    const tools = [{ type: "function", function: FUNCTIONS[0] }];
    expect(() => chatRequestFromOpenAI({ model: "gpt-4o", functions: FUNCTIONS, tools, messages: conversation })).toThrow(/functions.*cannot both be sent/);
  });

  it.each([
    ["without a name", [conversation[0], conversation[1], { role: "function", content: "sunny" }], "messages[2].name"],
    ["with no call before it", [conversation[0], { role: "function", name: "get_weather", content: "sunny" }], "messages[1]"],
    ["naming a function the assistant did not call", [conversation[0], conversation[1], { role: "function", name: "get_time", content: "noon" }], "messages[2]"],
  ])("refuses a function message %s, naming it", (_, messages, field) => {
    let error: unknown;
    try {
      chatRequestFromOpenAI({ model: "gpt-4o", messages });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toContain(field);
  });
});

describe("an answer to a caller that asked with functions", () => {
  const call = create(ToolCallSchema, { id: "call_fn_x", name: "get_weather", arguments: ARGUMENTS });
  const answer = create(ChatResponseSchema, { id: "chatcmpl-1", model: "gpt-4o", finishReason: FinishReason.TOOL_CALLS, message: create(MessageSchema, { role: Role.ASSISTANT, toolCalls: [call] }) });

  it("is written whole with function_call and finish_reason function_call", () => {
    const choice = (toOpenAIChatCompletion(answer, 1, true).choices as any[])[0];
    expect(choice.message).toEqual({ role: "assistant", content: null, refusal: null, function_call: { name: "get_weather", arguments: ARGUMENTS } });
    expect(choice.finish_reason).toBe("function_call");
    // A caller of tools gets tool_calls, as before.
    const tools = (toOpenAIChatCompletion(answer, 1).choices as any[])[0];
    expect(tools.message.tool_calls).toHaveLength(1);
    expect(tools.finish_reason).toBe("tool_calls");
  });

  it("streams function_call fragments, the name with the first, and ends with function_call", () => {
    const writer = new OpenAIChunkWriter(1, () => ({ id: "chatcmpl-1", model: "gpt-4o" }), true);
    const first = writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 0, id: "call_fn_x", name: "get_weather", argumentsFragment: "" }] }));
    const next = writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 0, argumentsFragment: ARGUMENTS }] }));
    const end = writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.TOOL_CALLS }));
    expect((first.choices as any[])[0].delta).toEqual({ role: "assistant", function_call: { name: "get_weather", arguments: "" } });
    expect((next.choices as any[])[0].delta).toEqual({ function_call: { arguments: ARGUMENTS } });
    expect((end.choices as any[])[0].finish_reason).toBe("function_call");
  });
});
