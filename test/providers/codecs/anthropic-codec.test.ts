// The Anthropic Messages codec against recorded vendor payloads (test/fixtures/anthropic): no server, no I/O.
import { create, fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, ResponseFormatType, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { createAnthropicCodec } from "../../../src/providers/anthropic/codec.js";
import { fromAnthropicUsage, toAnthropicUsage } from "../../../src/providers/anthropic/wire.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import type { ChatParams } from "../../../src/providers/provider.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { assembled, decode, feed, fixtureFolder, listModels, streamFailure, textOf, thrown, type RecordedEvent } from "../../support/codec-fixtures.js";
import { encodeFitted } from "./fitted.js";

const fixtures = fixtureFolder("anthropic");
const API_KEY = "sk-ant-api03-codec-test-0123456789abcdef";
const MODEL = "claude-sonnet-4-5";
const codec = createAnthropicCodec({ provider: "anthropic" });
const ctx: ErrorContext = { provider: "anthropic", credential: createCredential("anthropic/test", API_KEY) };
const helloInit = { model: MODEL, messages: [{ role: Role.USER, content: "hello there" }] };
const hello = create(ChatRequestSchema, helloInit);
const jsonMode = create(ChatRequestSchema, { ...helloInit, responseFormat: { type: ResponseFormatType.JSON_OBJECT } });

function answer(name: string, params: ChatParams = hello) {
  return codec.chatResponse(fixtures.read(name).body, params, ctx);
}

function stream(name: string, params: ChatParams = hello) {
  return decode(codec.chatStream(params, ctx), fixtures.read(name).events);
}

describe("Anthropic codec: requests", () => {
  it("asks for thinking with a budget, and sends an assistant turn's signed and redacted blocks back first, unchanged", () => {
    const params = create(ChatRequestSchema, {
      reasoning: { budgetTokens: 2048 },
      maxTokens: 8192,
      messages: [
        { role: Role.USER, content: "weather?" },
        {
          role: Role.ASSISTANT,
          reasoningContent: "I should look it up.",
          reasoning: [{ text: "I should look it up.", signature: "c2lnbmVk" }, { redacted: "ZW5jcnlwdGVk" }],
          toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: "{}" }],
        },
        { role: Role.TOOL, toolCallId: "toolu_1", content: "sunny" },
      ],
    });
    const body = codec.chatRequest(params, "claude-sonnet-4-5", false).body!;
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect((body.messages as { content: unknown }[])[1]!.content).toEqual([
      { type: "thinking", thinking: "I should look it up.", signature: "c2lnbmVk" },
      { type: "redacted_thinking", data: "ZW5jcnlwdGVk" },
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} },
    ]);
    // Without thinking on this call, the blocks stay out (and so does the thinking request).
    const plain = codec.chatRequest(create(ChatRequestSchema, { ...params, reasoning: undefined }), "claude-sonnet-4-5", false).body!;
    expect(plain.thinking).toBeUndefined();
    expect((plain.messages as { content: unknown }[])[1]!.content).toEqual([{ type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }]);
  });

  it.each(fixtures.named("request-"))("builds the Messages body of %s", (name) => {
    const { request, model, stream, body } = fixtures.read(name);
    const built = encodeFitted(codec, "anthropic", fromJson(ChatRequestSchema, request), model, stream);
    expect(built).toMatchObject({ method: "POST", path: "/v1/messages" });
    expect(built.body).toEqual(body);
    expect(built.stream).toBe(stream ? "sse" : undefined);
  });

  it("sends the configured default max_tokens when the caller gives none", () => {
    const configured = createAnthropicCodec({ provider: "anthropic", defaultMaxTokens: 1000 });
    expect(configured.chatRequest(hello, MODEL, false).body?.max_tokens).toBe(1000);
  });

  it.each(fixtures.read("tool-choice.json").cases as { toolChoice: unknown; tool_choice: unknown }[])("maps tool choice %j", ({ toolChoice, tool_choice }) => {
    const { tools } = fixtures.read("tool-choice.json");
    const params = fromJson(ChatRequestSchema, { model: MODEL, messages: [{ role: "ROLE_USER", content: "Paris" }], tools, toolChoice } as never);
    expect(codec.chatRequest(params, MODEL, false).body?.tool_choice).toEqual(tool_choice);
  });

  it("refuses tool call arguments that are not a JSON object, naming the provider", () => {
    const params = create(ChatRequestSchema, {
      messages: [{ role: Role.USER, content: "x" }, { role: Role.ASSISTANT, toolCalls: [{ id: "toolu_1", name: "f", arguments: "[1,2]" }] }],
    });
    const err = thrown(() => codec.chatRequest(params, MODEL, false));
    expect(err.kind).toBe("bad_request");
    expect(err.message).toContain('provider "anthropic"');
  });

  it("sends the required anthropic-version on every request, and has no embeddings API", () => {
    expect(codec.defaultHeaders).toEqual({ "anthropic-version": "2023-06-01" });
    expect(codec.embedRequest).toBeUndefined();
    expect(codec.embedResponse).toBeUndefined();
  });
});

describe("Anthropic codec: answers", () => {
  it("reads a text answer with its id, finish reason and usage", () => {
    const result = answer("answer-text.json");
    expect(result.id).toBe("msg_013Zva2CMHLNnXjNJJKqJ2EF");
    expect(result.message).toMatchObject({ role: Role.ASSISTANT, content: "Hi! My name is Claude.", toolCalls: [] });
    expect(result.finishReason).toBe(FinishReason.STOP);
    expect(result.usage).toMatchObject({ promptTokens: 2095, completionTokens: 503, totalTokens: 2598, cachedTokens: 0 });
  });

  it("reads a tool_use block as a tool call and stop_reason tool_use as TOOL_CALLS", () => {
    const result = answer("answer-tool-use.json");
    expect(result.message?.content).toBe("I'll check the current weather in San Francisco for you.");
    expect(result.message?.toolCalls).toMatchObject([{ id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather" }]);
    expect(JSON.parse(result.message!.toolCalls[0]!.arguments)).toEqual({ location: "San Francisco, CA", unit: "celsius" });
    expect(result.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("reads the JSON-mode tool's input as the answer text, finished, not a call", () => {
    const result = answer("answer-json-mode.json", jsonMode);
    expect(JSON.parse(result.message!.content)).toEqual({ query: "hello there" });
    expect(result.message?.toolCalls).toHaveLength(0);
    expect(result.finishReason).toBe(FinishReason.STOP);
  });

  it("counts prompt-cache writes and reads in the prompt total, and reads as cached tokens", () => {
    expect(answer("answer-cache-usage.json").usage).toMatchObject({ promptTokens: 21 + 188 + 1024, completionTokens: 3, totalTokens: 1236, cachedTokens: 1024 });
  });

  it("reads thinking blocks as the reasoning, text and signed block, apart from the answer", () => {
    const { message } = answer("answer-thinking.json");
    expect(message?.content).toBe("Based on my analysis, the answer is 42.");
    expect(message?.reasoningContent).toBe("Let me analyze this step by step...");
    expect(message?.reasoning).toEqual([expect.objectContaining({ text: "Let me analyze this step by step...", signature: expect.stringMatching(/^WaUjzkyp/), redacted: "" })]);
  });

  it.each([
    ["end_turn", FinishReason.STOP],
    ["stop_sequence", FinishReason.STOP],
    ["pause_turn", FinishReason.STOP],
    ["max_tokens", FinishReason.LENGTH],
    ["model_context_window_exceeded", FinishReason.CONTEXT_WINDOW_EXCEEDED],
    ["refusal", FinishReason.REFUSAL],
    ["a_reason_added_later", FinishReason.UNSPECIFIED],
  ])("maps stop_reason %s", (stopReason, finishReason) => {
    const { body } = fixtures.read("answer-text.json");
    expect(codec.chatResponse({ ...body, stop_reason: stopReason }, hello, ctx).finishReason).toBe(finishReason);
  });

  it("refuses an answer without content blocks as bad_response", () => {
    expect(thrown(() => codec.chatResponse({ type: "message", id: "msg_1" }, hello, ctx)).kind).toBe("bad_response");
    expect(thrown(() => codec.chatResponse(null, hello, ctx)).kind).toBe("bad_response");
  });
});

describe("Anthropic codec: streams", () => {
  it("streams text deltas, then the end with message_start's id, the stop reason and the merged usage", () => {
    const { deltas, end } = stream("stream-text.json");
    expect(deltas.map((delta) => delta.content)).toEqual(["Hello", "!"]);
    expect(end).toMatchObject({ type: "end", id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", finishReason: FinishReason.STOP });
    expect(end.usage).toMatchObject({ promptTokens: 25, completionTokens: 15, totalTokens: 40 });
  });

  it("streams text, then a tool call as fragments at index 0, and ends with TOOL_CALLS", () => {
    const { deltas, end } = stream("stream-tool-use.json");
    expect(textOf(deltas)).toBe("Okay, let's check the weather for San Francisco, CA:");
    const calls = assembled(deltas);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather" });
    expect(JSON.parse(calls[0]!.arguments)).toEqual({ location: "San Francisco, CA", unit: "fahrenheit" });
    expect(end.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("streams the JSON-mode tool's input as text, ending with STOP", () => {
    const { deltas, end } = stream("stream-json-mode.json", jsonMode);
    expect(JSON.parse(textOf(deltas))).toEqual({ query: "hello there" });
    expect(deltas.flatMap((delta) => delta.toolCalls)).toHaveLength(0);
    expect(end.finishReason).toBe(FinishReason.STOP);
  });

  it("streams thinking as reasoning deltas, and hands the signed block over whole at the end", () => {
    const { deltas, end } = stream("stream-thinking.json");
    expect(textOf(deltas)).toBe("27 * 453 = 12,231");
    expect(deltas.map((delta) => delta.reasoning ?? "").join("")).toBe("Let me solve this step by step:\n\n1. First break down 27 * 453");
    expect(end.reasoning).toEqual([expect.objectContaining({ text: "Let me solve this step by step:\n\n1. First break down 27 * 453", signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..." })]);
  });

  it("keeps message_start's input and cache counts beside message_delta's output count", () => {
    const unary = answer("answer-cache-usage.json");
    expect(stream("stream-cache-usage.json").end.usage).toEqual(unary.usage);
  });

  it("keeps cache writes apart from the other prompt tokens, the hour-long ones too, and writes them back as Anthropic counted them", () => {
    const { usage } = answer("answer-cache-usage.json");
    // 21 uncached + 188 written + 1,024 read.
    expect(usage).toMatchObject({ promptTokens: 1233, cachedTokens: 1024, cacheWriteTokens: 188, cacheWrite1hTokens: 60, completionTokens: 3 });
    expect(toAnthropicUsage(usage)).toEqual(fixtures.read("answer-cache-usage.json").body.usage);
    // Without the breakdown by lifetime (older answers), every write is a five-minute one.
    const { usage: undivided } = fromAnthropicUsage({ input_tokens: 21, cache_creation_input_tokens: 188, cache_read_input_tokens: 0, output_tokens: 3 });
    expect(undivided).toMatchObject({ promptTokens: 209, cacheWriteTokens: 188, cacheWrite1hTokens: 0 });
    expect(toAnthropicUsage(undivided)).toMatchObject({ input_tokens: 21, cache_creation_input_tokens: 188, cache_creation: { ephemeral_5m_input_tokens: 188, ephemeral_1h_input_tokens: 0 } });
    // An unusable split is left out (five-minute writes), the counts the bill rests on kept; more hour-long writes than writes are all the writes.
    const odd = fromAnthropicUsage({ input_tokens: 21, cache_creation_input_tokens: 188, cache_creation: { ephemeral_1h_input_tokens: "60" }, output_tokens: 3 });
    expect(odd.usage).toMatchObject({ promptTokens: 209, cacheWriteTokens: 188, cacheWrite1hTokens: 0 });
    expect(odd.fault).toEqual({ fields: { "usage.cache_creation.ephemeral_1h_input_tokens": "not a number (a string)" }, discarded: false });
    expect(fromAnthropicUsage({ input_tokens: 1, cache_creation_input_tokens: 10, cache_creation: { ephemeral_1h_input_tokens: 50 } }).usage?.cacheWrite1hTokens).toBe(10);
  });

  it("stops reading at message_stop", () => {
    const decoder = codec.chatStream(hello, ctx);
    const events: RecordedEvent[] = [...fixtures.read("stream-text.json").events, { event: "content_block_delta", data: "not read" }];
    feed(decoder, events);
    expect(decoder.done).toBe(true);
  });

  it("calls a stream that closes before message_stop cut short, after the text so far", () => {
    const { text, error } = streamFailure(codec.chatStream(hello, ctx), fixtures.read("stream-cut-short.json").events);
    expect(text).toBe("Echo");
    expect(error).toMatchObject({ kind: "unreachable", message: expect.stringContaining("before the answer was complete") });
  });

  it("throws an error event as the vendor's error, after the text so far", () => {
    const { text, error } = streamFailure(codec.chatStream(hello, ctx), fixtures.read("stream-error-event.json").events);
    expect(text).toBe("Echo");
    expect(error).toMatchObject({ kind: "overloaded", vendorCode: "overloaded_error", status: undefined, message: expect.stringContaining("Overloaded") });
  });

  it("refuses an event that is not JSON as bad_response", () => {
    expect(thrown(() => feed(codec.chatStream(hello, ctx), [{ event: "content_block_delta", data: "{oops" }])).kind).toBe("bad_response");
  });
});

describe("Anthropic codec: errors", () => {
  const { http, stream: streamed } = fixtures.read("errors.json");

  it.each(http as { status: number; headers?: Record<string, string>; body: unknown; kind: string; retryAfterMs?: number }[])(
    "classifies HTTP $status $body.error.type as $kind",
    ({ status, headers, body, kind, retryAfterMs }) => {
      const err = codec.httpError(status, headers ?? {}, typeof body === "string" ? body : JSON.stringify(body), ctx);
      expect(err).toMatchObject({ kind, status, provider: "anthropic", credentialId: "anthropic/test", retryAfterMs });
      if (typeof body !== "string") expect(err.vendorCode).toBe((body as { error: { type: string } }).error.type);
    },
  );

  it.each(streamed as { data: { error: { type: string } }; kind: string }[])("classifies a stream error $data.error.type as $kind", ({ data, kind }) => {
    const err = thrown(() => feed(codec.chatStream(hello, ctx), [{ event: "error", data }]));
    expect(err).toMatchObject({ kind, vendorCode: data.error.type });
  });

  it("never repeats a key the vendor echoes, and names the credential it rejects", () => {
    const echoed = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: `header x-api-key ${API_KEY} is malformed` } });
    const err = codec.httpError(400, {}, echoed, ctx);
    expect(err.message).not.toContain(API_KEY);
    expect(err.message).toContain("[redacted]");
    const rejected = codec.httpError(401, {}, JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }), ctx);
    expect(rejected.message).toContain("anthropic/test");
  });
});

describe("Anthropic codec: the model list", () => {
  it("pages with after_id until has_more is false", () => {
    const pages = [fixtures.read("models-page-1.json").body, fixtures.read("models-page-2.json").body];
    expect(listModels(codec, pages)).toEqual({
      requests: [
        { method: "GET", path: "/v1/models?limit=1000" },
        { method: "GET", path: "/v1/models?limit=1000&after_id=claude-opus-4-1" },
      ],
      models: [
        { id: "claude-sonnet-4-5", embeddings: false },
        { id: "claude-opus-4-1", embeddings: false },
        { id: "claude-haiku-4-5", embeddings: false },
      ],
    });
  });
});
