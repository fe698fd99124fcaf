// The Gemini codec against recorded vendor payloads (test/fixtures/gemini): no server, no I/O.
import { create, fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createGeminiCodec } from "../../../src/providers/gemini/codec.js";
import { toolCallId, toolCallSignature } from "../../../src/providers/gemini/thought-signature.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { assembled, decode, feed, fixtureFolder, listModels, streamFailure, textOf, thrown } from "../../support/codec-fixtures.js";
import { encodeFitted } from "./fitted.js";

const fixtures = fixtureFolder("gemini");
const API_KEY = "AIzaSyCodecTest0123456789abcdefXYZ";
const MODEL = "gemini-2.5-flash";
const codec = createGeminiCodec({ provider: "gemini" });
const ctx: ErrorContext = { provider: "gemini", credential: createCredential("gemini/test", API_KEY) };
const hello = create(ChatRequestSchema, { model: MODEL, messages: [{ role: Role.USER, content: "hello there" }] });
/** The signature of the signed calls in the fixtures, and the id that carries it (made up from the call's number and the answer's id). */
const SIGNATURE = "CiQBcsjafD+h/zYw7xMjh8FvZ4Q=";
const signedId = (responseId: string) => `call_0_${responseId}_gts_CiQBcsjafD-h_zYw7xMjh8FvZ4Q`;

function answer(name: string) {
  return codec.chatResponse(fixtures.read(name).body, hello, ctx);
}

function stream(name: string) {
  return decode(codec.chatStream(hello, ctx), fixtures.read(name).events);
}

describe("Gemini codec: requests", () => {
  it.each(fixtures.named("request-"))("builds the generateContent request of %s", (name) => {
    const { request, model, stream, path, body } = fixtures.read(name);
    const built = encodeFitted(codec, "gemini", fromJson(ChatRequestSchema, request), model, stream);
    expect(built).toMatchObject({ method: "POST", path });
    expect(built.body).toEqual(body);
    expect(built.stream).toBe(stream ? "sse" : undefined);
  });

  it.each(fixtures.read("tool-choice.json").cases as { toolChoice: unknown; functionCallingConfig: unknown }[])(
    "maps tool choice %j",
    ({ toolChoice, functionCallingConfig }) => {
      const { tools } = fixtures.read("tool-choice.json");
      const params = fromJson(ChatRequestSchema, { model: MODEL, messages: [{ role: "ROLE_USER", content: "Paris" }], tools, toolChoice } as never);
      expect(codec.chatRequest(params, MODEL, false).body?.toolConfig).toEqual({ functionCallingConfig });
    },
  );

  it("refuses a tool result whose call it cannot find, since Gemini needs the function's name", () => {
    const params = create(ChatRequestSchema, { messages: [{ role: Role.USER, content: "x" }, { role: Role.TOOL, toolCallId: "nope", content: "y" }] });
    const err = thrown(() => codec.chatRequest(params, MODEL, false));
    expect(err.kind).toBe("bad_request");
    expect(err.message).toContain('"nope"');
    expect(err.message).toContain('provider "gemini"');
  });

  it("builds a batchEmbedContents request and reads its vectors in order", () => {
    const { request, model, path, body } = fixtures.read("embedding-request.json");
    const params = fromJson(EmbedRequestSchema, request);
    expect(codec.embedRequest!(params, model)).toEqual({ method: "POST", path, body });
    const result = codec.embedResponse!(fixtures.read("embedding-answer.json").body, params, ctx);
    expect(result.vectors).toEqual([
      [0.013168523, -0.008711934, -0.046782676, 0.000699695],
      [-0.02271276, 0.031120954, -0.011470236, 0.040229887],
    ]);
    expect(result.usage).toBeUndefined();
  });

  it("refuses an embedding answer with the wrong number of vectors as bad_response", () => {
    const params = create(EmbedRequestSchema, { model: "text-embedding-004", inputs: ["a", "b", "c"] });
    expect(thrown(() => codec.embedResponse!(fixtures.read("embedding-answer.json").body, params, ctx)).kind).toBe("bad_response");
  });
});

describe("Gemini codec: answers", () => {
  it("reads a text answer; thinking tokens are completion tokens, reported as reasoning", () => {
    const result = answer("answer-text.json");
    expect(result.id).toBe("c2dAaN2lGpO7qtsPz5eD-AE");
    expect(result.message).toMatchObject({ role: Role.ASSISTANT, content: "AI learns patterns from data to make predictions.", toolCalls: [] });
    expect(result.finishReason).toBe(FinishReason.STOP);
    expect(result.usage).toMatchObject({ promptTokens: 8, completionTokens: 9 + 989, totalTokens: 1006, reasoningTokens: 989, cachedTokens: 0 });
  });

  it("reads function calls with made-up ids, the thought signature in the id, and STOP as TOOL_CALLS", () => {
    const result = answer("answer-function-calls.json");
    expect(result.message?.toolCalls).toMatchObject([
      { id: signedId("8F5AaJqyB8a9qtsP2u6W4Q4"), name: "get_weather", arguments: '{"query":"Paris"}' },
      { id: "call_1_8F5AaJqyB8a9qtsP2u6W4Q4", name: "get_time", arguments: '{"zone":"CET"}' },
    ]);
    expect(result.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("gives the thought signature back, as received, when the calls are replayed", () => {
    const calls = answer("answer-function-calls.json").message!;
    const params = create(ChatRequestSchema, {
      messages: [
        { role: Role.USER, content: "Paris?" },
        calls,
        { role: Role.TOOL, toolCallId: calls.toolCalls[0]!.id, content: "sunny" },
        { role: Role.TOOL, toolCallId: calls.toolCalls[1]!.id, content: "14:05" },
      ],
    });
    const parts = (codec.chatRequest(params, "gemini-3-pro-preview", false).body as { contents: { parts: unknown[] }[] }).contents[1]!.parts;
    expect(parts).toEqual([
      { functionCall: { name: "get_weather", args: { query: "Paris" } }, thoughtSignature: SIGNATURE },
      { functionCall: { name: "get_time", args: { zone: "CET" } } },
    ]);
  });

  it("makes up ids unique in a conversation from the answer's id (kept to letters and digits), so that the same call twice is two ids", () => {
    const body = fixtures.read("answer-function-calls.json").body as { responseId: string };
    const again = codec.chatResponse({ ...body, responseId: "c2dAaN2lGpO7qtsPz5eD-AE" }, hello, ctx);
    expect(again.message.toolCalls.map((call) => call.id)).toEqual([signedId("c2dAaN2lGpO7qtsPz5eDAE"), "call_1_c2dAaN2lGpO7qtsPz5eDAE"]);
    const anonymous = codec.chatResponse({ ...body, responseId: undefined }, hello, ctx).message.toolCalls[1]!.id;
    expect(anonymous).toMatch(/^call_1_[0-9a-f]{16}$/);
    expect(codec.chatResponse({ ...body, responseId: undefined }, hello, ctx).message.toolCalls[1]!.id).not.toBe(anonymous);
  });

  it("gives Gemini 3 Google's placeholder signature for a call that came without one (another vendor's), the first of a turn only", () => {
    const params = create(ChatRequestSchema, {
      messages: [
        { role: Role.USER, content: "Paris?" },
        { role: Role.ASSISTANT, toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: "{}" }, { id: "toolu_2", name: "get_time", arguments: "{}" }] },
        { role: Role.TOOL, toolCallId: "toolu_1", content: "sunny" },
        { role: Role.TOOL, toolCallId: "toolu_2", content: "14:05" },
      ],
    });
    const partsFor = (model: string) => (codec.chatRequest(params, model, false).body as { contents: { parts: { thoughtSignature?: string }[] }[] }).contents[1]!.parts;
    expect(partsFor("gemini-3-pro-preview").map((part) => part.thoughtSignature)).toEqual(["skip_thought_signature_validator", undefined]);
    expect(partsFor("models/gemini-3-flash").map((part) => part.thoughtSignature)).toEqual(["skip_thought_signature_validator", undefined]);
    // Models before Gemini 3 check no signatures.
    expect(partsFor("gemini-2.5-flash").map((part) => part.thoughtSignature)).toEqual([undefined, undefined]);
  });

  it.each(["CiQBcsjafD+h/zYw7xMjh8FvZ4Q=", "+/+/", "YWJjZA==", "YWJjZGU=", "YWJj"])("round-trips signature %s through an id of [A-Za-z0-9_-]", (signature) => {
    const id = toolCallId("call_3", signature);
    expect(id).toMatch(/^call_3_gts_[A-Za-z0-9_-]+$/);
    expect(toolCallSignature(id)).toBe(signature);
  });

  it("leaves ids without a signature as they are", () => {
    expect(toolCallId("call_0", undefined)).toBe("call_0");
    expect(toolCallSignature("call_0")).toBeUndefined();
  });

  it("reads thought summaries as the reasoning, apart from the answer, marked as a summary", () => {
    expect(answer("answer-thought-summary.json").message).toMatchObject({
      content: "2 + 2 = 4",
      reasoningContent: "**Calculating the sum**\n\nI add the two numbers.",
      reasoningSummarized: true,
    });
  });

  it("marks no summary on an answer without thoughts", () => {
    expect(answer("answer-text.json").message?.reasoningSummarized).toBe(false);
  });

  it("counts tool-use prompt tokens as prompt tokens, and cached content as cached", () => {
    expect(answer("answer-tool-use-usage.json").usage).toMatchObject({
      promptTokens: 1200 + 220,
      completionTokens: 6 + 52,
      totalTokens: 1478,
      cachedTokens: 1024,
      reasoningTokens: 52,
    });
  });

  it("reads a blocked prompt (no candidate, a blockReason) as content_filtered", () => {
    const err = thrown(() => answer("answer-prompt-blocked.json"));
    expect(err).toMatchObject({ kind: "content_filtered", vendorCode: "SAFETY", credentialId: "gemini/test" });
    expect(err.message).toContain("blocked the prompt (SAFETY)");
  });

  it("refuses an answer with no candidate and no block reason as bad_response", () => {
    expect(thrown(() => codec.chatResponse({ usageMetadata: {} }, hello, ctx)).kind).toBe("bad_response");
    expect(thrown(() => codec.chatResponse(null, hello, ctx)).kind).toBe("bad_response");
  });

  it.each([
    ["STOP", false, FinishReason.STOP],
    ["MAX_TOKENS", false, FinishReason.LENGTH],
    ["SAFETY", false, FinishReason.CONTENT_FILTER],
    ["RECITATION", false, FinishReason.CONTENT_FILTER],
    ["PROHIBITED_CONTENT", false, FinishReason.CONTENT_FILTER],
    ["BLOCKLIST", false, FinishReason.CONTENT_FILTER],
    ["SPII", false, FinishReason.CONTENT_FILTER],
    ["IMAGE_SAFETY", false, FinishReason.CONTENT_FILTER],
    // Ends Google cut short: never a clean STOP (a null finish_reason or an end_turn on the surfaces).
    ["OTHER", false, FinishReason.CONTENT_FILTER],
    ["MALFORMED_FUNCTION_CALL", false, FinishReason.CONTENT_FILTER],
    ["UNEXPECTED_TOOL_CALL", false, FinishReason.CONTENT_FILTER],
    ["TOO_MANY_TOOL_CALLS", false, FinishReason.CONTENT_FILTER],
    ["A_REASON_ADDED_LATER", false, FinishReason.UNSPECIFIED],
    ["STOP", true, FinishReason.TOOL_CALLS],
    ["MAX_TOKENS", true, FinishReason.LENGTH],
  ])("maps finishReason %s (function calls: %s)", (reason, calls, finishReason) => {
    const { body } = fixtures.read(calls ? "answer-function-calls.json" : "answer-text.json");
    const candidate = { ...body.candidates[0], finishReason: reason };
    expect(codec.chatResponse({ ...body, candidates: [candidate] }, hello, ctx).finishReason).toBe(finishReason);
  });
});

describe("Gemini codec: streams", () => {
  it("streams each chunk's text, then the end with the last chunk's usage", () => {
    const { deltas, end } = stream("stream-text.json");
    expect(deltas.map((delta) => delta.content)).toEqual(["Echo", ": hello", " there"]);
    expect(end).toMatchObject({ type: "end", id: "9oBAaKT0LZi8qtsP7_6v0Q8", finishReason: FinishReason.STOP });
    expect(end.usage).toMatchObject({ promptTokens: 4, completionTokens: 8, totalTokens: 12, reasoningTokens: 5 });
  });

  it("streams thought summaries as the reasoning, every piece of it marked as a summary, the answer's text not", () => {
    const { deltas } = stream("stream-thought-summary.json");
    expect(deltas.map(({ content, reasoning, reasoningSummarized }) => ({ content, reasoning, reasoningSummarized }))).toEqual([
      { content: "", reasoning: "**Calculating the sum**\n\n", reasoningSummarized: true },
      { content: "2 + 2", reasoning: "I add the two numbers.", reasoningSummarized: true },
      { content: " = 4", reasoning: undefined, reasoningSummarized: undefined },
    ]);
  });

  it("tells the prompt's count on the first delta, for a stream cut before its end (running-usage.ts)", () => {
    const { deltas } = stream("stream-text.json");
    expect(deltas.map((delta) => delta.usage?.promptTokens)).toEqual([4, undefined, undefined]);
  });

  it("streams function calls whole, numbered across chunks, the signature in the id, ending with TOOL_CALLS", () => {
    const { deltas, end } = stream("stream-function-calls.json");
    expect(textOf(deltas)).toBe("");
    expect(assembled(deltas)).toEqual([
      { id: signedId("XYFAaPKmIZG8qtsPqbeS8AU"), name: "get_weather", arguments: '{"query":"Rome"}' },
      { id: "call_1_XYFAaPKmIZG8qtsPqbeS8AU", name: "get_time", arguments: '{"zone":"CET"}' },
    ]);
    expect(end.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("reads until the stream closes: Gemini sends no end marker", () => {
    const decoder = codec.chatStream(hello, ctx);
    feed(decoder, fixtures.read("stream-text.json").events);
    expect(decoder.done).toBe(false);
  });

  it("calls a stream that closes before a finishReason cut short, after the text so far", () => {
    const { text, error } = streamFailure(codec.chatStream(hello, ctx), fixtures.read("stream-cut-short.json").events);
    expect(text).toBe("Echo");
    expect(error).toMatchObject({ kind: "unreachable", message: expect.stringContaining("before the answer was complete") });
  });

  it("throws an error sent in the stream as Google's error, after the text so far", () => {
    const { text, error } = streamFailure(codec.chatStream(hello, ctx), fixtures.read("stream-error.json").events);
    expect(text).toBe("Echo");
    expect(error).toMatchObject({ kind: "overloaded", status: 503, vendorCode: "UNAVAILABLE", message: expect.stringContaining("The model is overloaded") });
  });

  it("reads a blocked prompt on a stream as content_filtered, with Gemini's reason", () => {
    const err = thrown(() => stream("stream-prompt-blocked.json"));
    expect(err).toMatchObject({ kind: "content_filtered", vendorCode: "PROHIBITED_CONTENT" });
    expect(err.message).toContain("The prompt was blocked.");
  });

  it("refuses an event that is not JSON as bad_response", () => {
    expect(thrown(() => feed(codec.chatStream(hello, ctx), [{ data: "{oops" }])).kind).toBe("bad_response");
  });
});

describe("Gemini codec: errors", () => {
  it.each(fixtures.read("errors.json").http as { status: number; headers?: Record<string, string>; body: unknown; kind: string; retryAfterMs?: number }[])(
    "classifies HTTP $status as $kind",
    ({ status, headers, body, kind, retryAfterMs }) => {
      const err = codec.httpError(status, headers ?? {}, JSON.stringify(body), ctx);
      expect(err).toMatchObject({ kind, status, provider: "gemini", credentialId: "gemini/test", retryAfterMs });
    },
  );

  it("never repeats a key the vendor echoes, and names the credential it rejects", () => {
    const echoed = JSON.stringify({ error: { code: 400, message: `Invalid value for key ${API_KEY}`, status: "INVALID_ARGUMENT" } });
    const err = codec.httpError(400, {}, echoed, ctx);
    expect(err.message).not.toContain(API_KEY);
    const rejected = codec.httpError(400, {}, JSON.stringify(fixtures.read("errors.json").http[0].body), ctx);
    expect(rejected.message).toContain("gemini/test");
  });
});

describe("Gemini codec: the model list", () => {
  it("pages with pageToken, keeping only the models that chat or embed", () => {
    const pages = [fixtures.read("models-page-1.json").body, fixtures.read("models-page-2.json").body];
    expect(listModels(codec, pages)).toEqual({
      requests: [
        { method: "GET", path: "/models?pageSize=1000" },
        { method: "GET", path: "/models?pageSize=1000&pageToken=Chdtb2RlbHMvZ2VtaW5pLWVtYmVkZGluZw%3D%3D" },
      ],
      models: [
        { id: "gemini-2.5-flash", embeddings: false },
        { id: "text-embedding-004", embeddings: true },
        { id: "gemini-embedding-001", embeddings: true },
      ],
    });
  });
});
