// The DashScope native codec against recorded vendor payloads (test/fixtures/dashscope): no server, no I/O.
import { create, fromJson, type JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createDashScopeCodec } from "../../../src/providers/dashscope/codec.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { assembled, decode, feed, fixtureFolder, thrown, type RecordedEvent } from "../../support/codec-fixtures.js";
import { encodeFitted } from "./fitted.js";

const fixtures = fixtureFolder("dashscope");
const fixture = fixtures.read;

const API_KEY = "sk-dashscope-codec-0123456789abcdef";
const codec = createDashScopeCodec({ provider: "dashscope" });
const ctx: ErrorContext = { provider: "dashscope", credential: createCredential("dashscope/test", API_KEY) };
const hello = create(ChatRequestSchema, { model: "qwen-plus", messages: [{ role: Role.USER, content: "hello there" }] });

/** A recorded stream through a fresh decoder. */
const decoded = (events: RecordedEvent[]) => decode(codec.chatStream(hello, ctx), events);

describe("DashScope codec: requests", () => {
  const requests = fixtures.named("request-");

  it.each(requests)("builds the native body of %s", (name) => {
    const { request, model, stream, body } = fixture(name);
    const built = encodeFitted(codec, "dashscope", fromJson(ChatRequestSchema, request), model, stream);
    expect(built).toMatchObject({ method: "POST", path: "/services/aigc/text-generation/generation" });
    expect(built.body).toEqual(body);
  });

  it("asks for an event stream with the x-dashscope-sse header, on stream requests only", () => {
    expect(codec.chatRequest(hello, "qwen-plus", true)).toMatchObject({ stream: "sse", headers: { "x-dashscope-sse": "enable" } });
    const unary = codec.chatRequest(hello, "qwen-plus", false);
    expect(unary.stream).toBeUndefined();
    expect(unary.headers).toBeUndefined();
  });

  it("refuses an image rather than dropping it, naming the provider", () => {
    const params = create(ChatRequestSchema, { messages: [{ role: Role.USER, parts: [{ part: { case: "imageUrl", value: { url: "https://example.com/a.png" } } }] }] });
    const err = thrown(() => codec.chatRequest(params, "qwen-plus", false));
    expect(err.kind).toBe("unsupported");
    expect(err.message).toContain('provider "dashscope"');
  });

  it("builds the text-embedding request, with the vector size in parameters", () => {
    const { request, model, body } = fixture("embedding-request.json");
    expect(codec.embedRequest!(fromJson(EmbedRequestSchema, request), model)).toEqual({ method: "POST", path: "/services/embeddings/text-embedding/text-embedding", body });
    const plain = codec.embedRequest!(create(EmbedRequestSchema, { inputs: ["a"] }), "text-embedding-v2");
    expect(plain.body).toEqual({ model: "text-embedding-v2", input: { texts: ["a"] } });
  });

  it("has no model list: the adapter lists none", () => {
    expect(codec.modelsRequest).toBeUndefined();
    expect(codec.knownModels).toBeUndefined();
  });
});

describe("DashScope codec: answers", () => {
  it("reads a text answer, its request id and usage", () => {
    const { body } = fixture("answer-text.json");
    const result = codec.chatResponse(body, hello, ctx);
    expect(result.id).toBe(body.request_id);
    expect(result.message).toMatchObject({ role: Role.ASSISTANT, content: "Echo: hello there", toolCalls: [] });
    expect(result.finishReason).toBe(FinishReason.STOP);
    expect(result.usage).toMatchObject({ promptTokens: 5, completionTokens: 3, totalTokens: 8 });
  });

  it("reads a tool call answer as TOOL_CALLS", () => {
    const result = codec.chatResponse(fixture("answer-tool-call.json").body, hello, ctx);
    expect(result.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(result.message.toolCalls).toMatchObject([{ id: "call_5f0e9c1d", name: "get_weather", arguments: '{"query":"Paris"}' }]);
  });

  it("maps a cut answer to LENGTH", () => {
    expect(codec.chatResponse(fixture("answer-length.json").body, hello, ctx).finishReason).toBe(FinishReason.LENGTH);
  });

  it("maps input and output tokens, cached and reasoning tokens included", () => {
    const { usage } = codec.chatResponse(fixture("answer-usage-details.json").body, hello, ctx);
    expect(usage).toMatchObject({ promptTokens: 287, completionTokens: 30, totalTokens: 317, cachedTokens: 256, reasoningTokens: 28 });
  });

  it("calls an answer without choices (result_format text) a bad response", () => {
    expect(thrown(() => codec.chatResponse(fixture("answer-text-format.json").body, hello, ctx)).kind).toBe("bad_response");
    expect(thrown(() => codec.chatResponse(null, hello, ctx)).kind).toBe("bad_response");
  });

  it("puts embeddings in the order of the texts, with the tokens read", () => {
    const params = create(EmbedRequestSchema, { inputs: ["a", "bb"] });
    const result = codec.embedResponse!(fixture("embedding-answer.json").body, params, ctx);
    expect(result.vectors).toEqual([
      [0.1, 0.2, 0.3],
      [0.25, 0.5, 0.75],
    ]);
    expect(result.usage).toMatchObject({ promptTokens: 2, totalTokens: 2 });
    const short = create(EmbedRequestSchema, { inputs: ["a", "bb", "ccc"] });
    expect(thrown(() => codec.embedResponse!(fixture("embedding-answer.json").body, short, ctx)).kind).toBe("bad_response");
  });
});

describe("DashScope codec: streams", () => {
  it("passes incremental chunks on as they come, and ends with the last chunk's usage", () => {
    const { events } = fixture("stream-incremental.json");
    const { deltas, end } = decoded(events);
    expect(deltas.map((delta) => delta.content)).toEqual(["Echo", ": he", "llo ", "ther", "e"]);
    expect(end).toEqual({ type: "end", id: events[0].data.request_id, finishReason: FinishReason.STOP, usage: expect.objectContaining({ promptTokens: 287, completionTokens: 3, totalTokens: 290 }) });
  });

  it("tells the prompt's count on the first delta, for a stream cut before its end (running-usage.ts)", () => {
    const { deltas } = decoded(fixture("stream-incremental.json").events);
    expect(deltas[0]?.usage).toMatchObject({ promptTokens: 287, completionTokens: 1 });
    expect(deltas.slice(1).map((delta) => delta.usage)).toEqual(deltas.slice(1).map(() => undefined));
  });

  it("trusts incremental_output: chunks that repeat the text so far are new text all the same (ha, ha, ha! is hahaha!)", () => {
    const { deltas, end } = decoded(fixture("stream-repeating-increments.json").events);
    expect(deltas.map((delta) => delta.content).join("")).toBe("hahaha!");
    expect(deltas.map((delta) => delta.reasoning ?? "").join("")).toBe("The user laughs");
    expect(end.usage).toMatchObject({ completionTokens: 6, reasoningTokens: 3 });
  });

  it("announces a streamed tool call once and adds up its arguments", () => {
    const { deltas, end } = decoded(fixture("stream-tool-call-incremental.json").events);
    const fragments = deltas.flatMap((delta) => delta.toolCalls);
    expect(fragments.length).toBeGreaterThan(2);
    expect(fragments.filter((fragment) => fragment.id !== "")).toHaveLength(1);
    expect(assembled(deltas)).toEqual([{ id: "call_8e1f2a3b", name: "get_weather", arguments: '{"query":"Rome"}' }]);
    expect(end.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("stops at the first chunk with a finish reason other than the string \"null\"", () => {
    const { events } = fixture("stream-incremental.json");
    const decoder = codec.chatStream(hello, ctx);
    feed(decoder, [events[0]]);
    expect(decoder.done).toBe(false);
    feed(decoder, [events.at(-1)]);
    expect(decoder.done).toBe(true);
  });

  it("names a stream that closed before a final finish reason as cut short", () => {
    const err = thrown(() => decoded(fixture("stream-cut-short.json").events));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toContain("ended the stream before the answer was complete");
  });

  it("fails on `event:error` by the error's code, after the deltas before it", () => {
    const [first, second, error] = fixture("stream-error-event.json").events;
    const decoder = codec.chatStream(hello, ctx);
    expect(feed(decoder, [first, second])).toHaveLength(2);
    const err = thrown(() => feed(decoder, [error]));
    expect(err.kind).toBe("overloaded");
    expect(err.vendorCode).toBe("InternalError.Algo");
    expect(err.message).toContain("Inference failed");
    expect(err.status).toBeUndefined();
  });

  it("fails on an event that is not JSON, and on a chunk that is an error body", () => {
    expect(thrown(() => decoded([{ event: "result", data: "not json" }])).kind).toBe("bad_response");
    expect(thrown(() => decoded([{ event: "result", data: { code: "Throttling.RateQuota", message: "Requests rate limit exceeded" } }])).kind).toBe("rate_limited");
  });
});

describe("DashScope codec: errors", () => {
  const { http, streamedHttp, inSuccessfulAnswer } = fixture("errors.json");

  type HttpRow = { status: number; body: unknown; headers?: Record<string, string>; kind: string; retryAfterMs?: number };
  const rows = (http as HttpRow[]).map((row) => ({ ...row, code: typeof row.body === "string" ? "(a proxy's page)" : (row.body as JsonObject).code }));

  it.each(rows)("classifies HTTP $status $code as $kind", (row) => {
    const text = typeof row.body === "string" ? row.body : JSON.stringify(row.body);
    const err = codec.httpError(row.status, row.headers ?? {}, text, ctx);
    expect(err.kind).toBe(row.kind);
    expect(err.status).toBe(row.status);
    expect(err.retryAfterMs).toBe(row.retryAfterMs);
    if (typeof row.body !== "string" && row.kind !== "credential_rejected") expect(err.message).toContain((row.body as JsonObject).message);
  });

  it("reads an error answer to a stream request, framed as an event", () => {
    const err = codec.httpError(streamedHttp.status, {}, streamedHttp.text, ctx);
    expect(err.kind).toBe(streamedHttp.kind);
    expect(err.message).toContain("Requests rate limit exceeded (Throttling.RateQuota)");
  });

  it("finds the error in a successful answer with a code and no output, and none in a real answer", () => {
    const err = codec.bodyError!(inSuccessfulAnswer.body, 200, ctx);
    expect(err?.kind).toBe(inSuccessfulAnswer.kind);
    expect(err?.status).toBeUndefined();
    expect(codec.bodyError!(fixture("answer-text.json").body, 200, ctx)).toBeUndefined();
    expect(codec.bodyError!(fixture("embedding-answer.json").body, 200, ctx)).toBeUndefined();
  });

  it("names the credential, never the key, when the key is rejected or echoed", () => {
    const rejected = codec.httpError(401, {}, JSON.stringify({ code: "InvalidApiKey", message: `Invalid API-key provided: ${API_KEY}` }), ctx);
    expect(rejected.message).toMatch(/rejected the gateway's credential "dashscope\/test"/);
    const echoed = codec.httpError(400, {}, JSON.stringify({ code: "InvalidParameter", message: `bad key ${API_KEY}` }), ctx);
    for (const err of [rejected, echoed]) expect(err.message).not.toContain(API_KEY);
  });
});
