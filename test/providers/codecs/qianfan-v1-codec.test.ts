// The Qianfan v1 (wenxinworkshop) codec against recorded vendor payloads (test/fixtures/qianfan-v1): no server, no I/O.
import { create, fromJson, type JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createQianfanV1Codec } from "../../../src/providers/qianfan-v1/codec.js";
import { isTokenRejection } from "../../../src/providers/qianfan-v1/errors.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode, feed, fixtureFolder, thrown, type RecordedEvent } from "../../support/codec-fixtures.js";
import { encodeFitted } from "./fitted.js";

const fixtures = fixtureFolder("qianfan-v1");
const fixture = fixtures.read;

// Shaped like Baidu's: an API Key and Secret Key with no prefix the generic redaction would catch, and an access token.
const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";
const TOKEN = "24.6c1a0f3e9b2d4c5a8e7f6d5c4b3a2910.2592000.1716200000.282335-1";

const codec = createQianfanV1Codec({ provider: "qianfan" });
const ctx: ErrorContext = { provider: "qianfan", credential: createCredential("qianfan/test", AK, SK), alsoSecret: [TOKEN] };
const hello = create(ChatRequestSchema, { model: "ernie-4.0-8k", messages: [{ role: Role.USER, content: "hello there" }] });

/** A recorded stream through a fresh decoder. */
const decoded = (events: RecordedEvent[]) => decode(codec.chatStream(hello, ctx), events);

describe("Qianfan v1 codec: requests", () => {
  const requests = fixtures.named("request-");

  it.each(requests)("builds the body and path of %s", (name) => {
    const { request, model, stream, path, body } = fixture(name);
    const built = encodeFitted(codec, "qianfan", fromJson(ChatRequestSchema, request), model, stream);
    expect(built).toEqual({ method: "POST", path, body, ...(stream ? { stream: "sse" } : {}) });
  });

  it("carries no credential: the access token is the auth's, in the query string", () => {
    const built = codec.chatRequest(hello, "ernie-4.0-8k", false);
    expect(built.path).not.toContain("access_token");
    expect(built.headers).toBeUndefined();
  });

  it.each(fixture("conversations-refused.json").cases as { what: string; messages: unknown[]; error: string }[])("refuses $what, saying why", ({ messages, error }) => {
    const params = fromJson(ChatRequestSchema, { model: "ernie-4.0-8k", messages } as JsonObject);
    const err = thrown(() => codec.chatRequest(params, "ernie-4.0-8k", false));
    expect(err.kind).toBe("bad_request");
    expect(err.message).toMatch(new RegExp(error));
    expect(err.message).toContain('provider "qianfan" (ERNIE v1)');
  });

  it("refuses an image rather than dropping it", () => {
    const params = create(ChatRequestSchema, { messages: [{ role: Role.USER, parts: [{ part: { case: "imageUrl", value: { url: "https://example.com/a.png" } } }] }] });
    expect(thrown(() => codec.chatRequest(params, "ernie-4.0-8k", false)).kind).toBe("unsupported");
  });

  it("builds an embeddings request at the model's path, and refuses dimensions", () => {
    const { request, model, path, body } = fixture("embedding-request.json");
    expect(codec.embedRequest!(fromJson(EmbedRequestSchema, request), model)).toEqual({ method: "POST", path, body });
    const err = thrown(() => codec.embedRequest!(create(EmbedRequestSchema, { inputs: ["a"], dimensions: 4 }), "embedding-v1"));
    expect(err.kind).toBe("bad_request");
    expect(err.message).toContain('model "embedding-v1" cannot shorten its vectors');
  });

  it("knows the models of the endpoint table, as v1 has no model list", () => {
    expect(codec.modelsRequest).toBeUndefined();
    const models = codec.knownModels!();
    expect(models).toContainEqual({ id: "ernie-4.0-8k", embeddings: false });
    expect(models).toContainEqual({ id: "tao-8k", embeddings: true });
  });
});

describe("Qianfan v1 codec: answers", () => {
  it("reads a text answer, its id and usage; \"normal\" is a stop", () => {
    const { body } = fixture("answer-text.json");
    const result = codec.chatResponse(body, hello, ctx);
    expect(result).toMatchObject({ id: body.id, finishReason: FinishReason.STOP, message: { role: Role.ASSISTANT, content: "Echo: hello there", toolCalls: [] } });
    expect(result.usage).toMatchObject({ promptTokens: 4, completionTokens: 3, totalTokens: 7 });
  });

  it("reads a function call as a tool call with a made-up id (v1 gives none)", () => {
    const result = codec.chatResponse(fixture("answer-function-call.json").body, hello, ctx);
    expect(result.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(result.message.toolCalls).toHaveLength(1);
    // v1 gives the call no id: one is made from the answer's (unique in the conversation, as answers' ids are).
    expect(result.message.toolCalls[0]).toMatchObject({ id: "call_0_as7c4wd9e2kq", name: "get_weather", arguments: '{"query":"Paris"}' });
  });

  it("carries a function call's thoughts as the answer's reasoning", () => {
    const result = codec.chatResponse(fixture("answer-function-call.json").body, hello, ctx);
    expect(result.message.reasoningContent).toBe("the user asks about Paris");
    expect(codec.chatResponse(fixture("answer-text.json").body, hello, ctx).message.reasoningContent).toBe("");
  });

  it("takes an answer without a finish reason (older models) as a stop", () => {
    expect(codec.chatResponse(fixture("answer-without-finish-reason.json").body, hello, ctx).finishReason).toBe(FinishReason.STOP);
  });

  it.each([
    ["normal", FinishReason.STOP],
    ["stop", FinishReason.STOP],
    ["length", FinishReason.LENGTH],
    ["content_filter", FinishReason.CONTENT_FILTER],
    ["function_call", FinishReason.TOOL_CALLS],
  ])("maps finish reason %s", (reason, expected) => {
    expect(codec.chatResponse({ ...fixture("answer-text.json").body, finish_reason: reason }, hello, ctx).finishReason).toBe(expected);
  });

  it("keeps a finish reason it does not know UNSPECIFIED, not a stop the cache would keep", () => {
    const answer = fixture("answer-text.json").body;
    expect(codec.chatResponse({ ...answer, finish_reason: "weird" }, hello, ctx).finishReason).toBe(FinishReason.UNSPECIFIED);
    const called = fixture("answer-function-call.json").body;
    expect(codec.chatResponse({ ...called, finish_reason: "weird" }, hello, ctx).finishReason).toBe(FinishReason.UNSPECIFIED);
  });

  // Baidu's fields (vendor-wire-formats.md §2a Response): is_truncated "the result was cut";
  // need_clear_history "the input is unsafe: close the conversation, clear its history" (ban_round: the turn).
  it.each([
    ["a cut answer that says normal", { is_truncated: true }, FinishReason.LENGTH],
    ["a cut function call", { is_truncated: true, finish_reason: "function_call" }, FinishReason.LENGTH],
    ["a cut answer with no reason", { is_truncated: true, finish_reason: undefined }, FinishReason.LENGTH],
    ["a filtered answer that was cut", { is_truncated: true, finish_reason: "content_filter" }, FinishReason.CONTENT_FILTER],
    ["the stock answer to an unsafe input, said normal", { need_clear_history: true, ban_round: -1 }, FinishReason.CONTENT_FILTER],
    ["the stock answer to an unsafe input, cut", { need_clear_history: true, ban_round: -1, is_truncated: true }, FinishReason.CONTENT_FILTER],
  ])("reads the flags of how it ended: %s", (_what, flags, expected) => {
    expect(codec.chatResponse({ ...fixture("answer-text.json").body, ...flags }, hello, ctx).finishReason).toBe(expected);
  });

  it("calls an answer that is not a JSON object a bad response", () => {
    expect(thrown(() => codec.chatResponse(null, hello, ctx)).kind).toBe("bad_response");
    expect(thrown(() => codec.chatResponse([1], hello, ctx)).kind).toBe("bad_response");
  });

  it("puts embeddings in the order of the texts, with the tokens read", () => {
    const result = codec.embedResponse!(fixture("embedding-answer.json").body, create(EmbedRequestSchema, { inputs: ["a", "bb"] }), ctx);
    expect(result.vectors).toEqual([
      [0.2, 0.4, 0.6],
      [0.4, 0.6, 0.8],
    ]);
    expect(result.usage).toMatchObject({ promptTokens: 2, totalTokens: 2 });
    const short = create(EmbedRequestSchema, { inputs: ["a", "bb", "ccc"] });
    expect(thrown(() => codec.embedResponse!(fixture("embedding-answer.json").body, short, ctx)).kind).toBe("bad_response");
  });
});

describe("Qianfan v1 codec: streams", () => {
  it("passes each chunk's result on, and ends at is_end with the last chunk's usage", () => {
    const { events } = fixture("stream-text.json");
    const { deltas, end } = decoded(events);
    expect(deltas.map((delta) => delta.content)).toEqual(["Echo", ": he", "llo ", "ther", "e"]);
    expect(end).toEqual({ type: "end", id: events[0].data.id, finishReason: FinishReason.STOP, usage: expect.objectContaining({ promptTokens: 4, completionTokens: 3, totalTokens: 7 }) });
  });

  it("tells the prompt's count on the first delta, for a stream cut before its end (running-usage.ts)", () => {
    const { deltas } = decoded(fixture("stream-text.json").events);
    expect(deltas.map((delta) => delta.usage?.promptTokens)).toEqual([4, undefined, undefined, undefined, undefined]);
  });

  it("keeps the last usage that counts tokens when the is_end chunk says 0/0 (one-api keeps the last non-zero)", () => {
    const { deltas, end } = decoded(fixture("stream-zero-usage-at-end.json").events);
    expect(deltas.map((delta) => delta.content).join("")).toBe("Hello there, how can I help you today?");
    expect(end.usage).toMatchObject({ promptTokens: 120, completionTokens: 11, totalTokens: 131 });
    // A stream that never counts keeps its zeros: whether they stand is the gateway's to decide (the answer's text).
    const [, , zero] = fixture("stream-zero-usage-at-end.json").events;
    expect(decoded([zero]).end.usage).toMatchObject({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });
  });

  it.each(["stream-function-call.json", "stream-function-call-early.json"])("passes a function call on whole, at the end (%s)", (name) => {
    const { deltas, end } = decoded(fixture(name).events);
    const calls = deltas.flatMap((delta) => delta.toolCalls);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_0_as[0-9a-z]+$/), name: "get_weather", argumentsFragment: '{"query":"Rome"}' });
    // The last delta, the one the is_end chunk made, with the call's thoughts as its reasoning.
    expect(deltas.at(-1)!.toolCalls).toEqual(calls);
    expect(deltas.at(-1)!.reasoning).toBe("the user asks about Rome");
    expect(end).toMatchObject({ type: "end", finishReason: FinishReason.TOOL_CALLS, usage: { completionTokens: 10 } });
  });

  /** stream-text.json with fields changed in the chunk at `at` (the last by default). */
  function textStreamWith(fields: Record<string, unknown>, at = -1): RecordedEvent[] {
    const events: RecordedEvent[] = fixture("stream-text.json").events;
    const index = at < 0 ? events.length + at : at;
    return events.map((event, i) => (i === index ? { ...event, data: { ...(event.data as Record<string, unknown>), ...fields } } : event));
  }

  it.each([
    ["is_truncated on the end chunk", textStreamWith({ is_truncated: true }), FinishReason.LENGTH],
    ["is_truncated on a chunk before the end", textStreamWith({ is_truncated: true }, 2), FinishReason.LENGTH],
    ["need_clear_history on the end chunk", textStreamWith({ need_clear_history: true, ban_round: -1 }), FinishReason.CONTENT_FILTER],
    ["need_clear_history on the first chunk", textStreamWith({ need_clear_history: true, ban_round: -1 }, 0), FinishReason.CONTENT_FILTER],
    ["a finish reason not known", textStreamWith({ finish_reason: "weird" }), FinishReason.UNSPECIFIED],
  ])("ends a stream as its chunks say: %s", (_what, events, expected) => {
    expect(decoded(events).end.finishReason).toBe(expected);
  });

  it("passes no function call on from a stream cut before is_end", () => {
    const decoder = codec.chatStream(hello, ctx);
    const [early] = fixture("stream-function-call-early.json").events;
    expect(feed(decoder, [early])).toEqual([]);
    expect(decoder.done).toBe(false);
    expect(thrown(() => decoder.finish()).kind).toBe("unreachable");
  });

  it("names a stream that closed before is_end as cut short", () => {
    const err = thrown(() => decoded(fixture("stream-cut-short.json").events));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toContain("ended the stream before the answer was complete");
  });

  it("fails on an error_code event by its code, with no HTTP status", () => {
    const err = thrown(() => decoded(fixture("stream-error.json").events));
    expect(err.kind).toBe("overloaded");
    expect(err.vendorCode).toBe("336100");
    expect(err.status).toBeUndefined();
    expect(err.message).toContain("Server high load, please try again later (error_code 336100)");
  });

  it("fails on an event that is not a JSON object", () => {
    expect(thrown(() => decoded([{ data: "not json" }])).kind).toBe("bad_response");
    expect(thrown(() => decoded([{ data: "null" }])).kind).toBe("bad_response");
  });
});

describe("Qianfan v1 codec: errors", () => {
  const { inSuccessfulAnswers, http } = fixture("errors.json");

  it.each(inSuccessfulAnswers as { body: { error_code: number }; kind: string; tokenRejected?: boolean }[])(
    "classifies error_code $body.error_code in an HTTP 200 answer as $kind",
    ({ body, kind, tokenRejected }) => {
      const err = codec.bodyError!(body, 200, ctx)!;
      expect(err.kind).toBe(kind);
      expect(err.vendorCode).toBe(String(body.error_code));
      // A 200 carrying an error is labelled by its kind, not as "200".
      expect(err.status).toBeUndefined();
      expect(isTokenRejection(err)).toBe(tokenRejected === true);
    },
  );

  it.each(http as { status: number; text: string; kind: string; tokenRejected?: boolean }[])("classifies HTTP $status as $kind", ({ status, text, kind, tokenRejected }) => {
    const err = codec.httpError(status, {}, text, ctx);
    expect(err.kind).toBe(kind);
    expect(err.status).toBe(status);
    expect(isTokenRejection(err)).toBe(tokenRejected === true);
  });

  it("finds no error in a real answer", () => {
    for (const name of ["answer-text.json", "answer-function-call.json", "embedding-answer.json"]) expect(codec.bodyError!(fixture(name).body, 200, ctx)).toBeUndefined();
  });

  it("never shows the API Key, the Secret Key or the access token, wherever the vendor echoes them", () => {
    const echo = `token ${TOKEN} for client ${AK} with secret ${SK}`;
    const errors = [
      codec.bodyError!({ error_code: 336003, error_msg: echo }, 200, ctx)!,
      codec.httpError(502, {}, echo, ctx),
      // A page longer than what is kept, with the token across the cut.
      codec.httpError(502, {}, `${"x".repeat(180)}${TOKEN}`, ctx),
      codec.bodyError!({ error_code: 110, error_msg: echo }, 200, ctx)!,
    ];
    for (const err of errors) {
      for (const secret of [AK, SK, TOKEN, TOKEN.slice(0, 20)]) expect(err.message).not.toContain(secret);
    }
    expect(errors[3]!.message).toMatch(/rejected the gateway's credential "qianfan\/test"/);
  });
});
