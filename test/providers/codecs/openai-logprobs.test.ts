// The OpenAI dialect's log probabilities and answer identity, read from a
// vendor's answer and chunks (in OpenAI's documented shapes:
// https://platform.openai.com/docs/api-reference/chat/object and
// .../chat-streaming/streaming), kept by the response cache, and written
// back as the SDK's types have them.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatResponseSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, LogprobsSchema, MessageSchema, Role, UsageSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { decodeAnswer, encodeAnswer } from "../../../src/cache/answer-codec.js";
import type { CacheableAnswer } from "../../../src/gateway/response-cache.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { openAIChunkDecoder, OpenAIChunkWriter } from "../../../src/providers/openai/chat-chunks.js";
import { fromOpenAIChatCompletion, toOpenAIChatCompletion } from "../../../src/providers/openai/chat-completion.js";
import { fromOpenAILogprobs, MAX_TOP_LOGPROBS, toOpenAILogprobs } from "../../../src/providers/openai/logprobs.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode, thrown } from "../../support/codec-fixtures.js";

const ctx: ErrorContext = { provider: "openai", credential: createCredential("openai/test", "sk-openai-codec-0123456789abcdef") };

const token = (text: string, logprob: number, top: number) => ({
  token: text,
  logprob,
  bytes: [...Buffer.from(text)],
  top_logprobs: Array.from({ length: top }, (_, i) => ({ token: i === 0 ? text : `alt${i}`, logprob: logprob - i, bytes: i === 0 ? [...Buffer.from(text)] : null })),
});

const COMPLETION = {
  id: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  object: "chat.completion",
  created: 1741570283,
  model: "gpt-4o-2024-08-06",
  choices: [{ index: 0, message: { role: "assistant", content: "Hi é", refusal: null }, logprobs: { content: [token("Hi", -0.01, 2), token(" é", -0.5, 2)], refusal: null }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  service_tier: "default",
  system_fingerprint: "fp_06737a9306",
};

describe("a whole answer's log probabilities and identity", () => {
  it("are read into the unified answer, each token the very message create() makes", () => {
    const result = fromOpenAIChatCompletion(COMPLETION, ctx);
    expect(result).toMatchObject({ id: COMPLETION.id, vendorModel: "gpt-4o-2024-08-06", systemFingerprint: "fp_06737a9306", serviceTier: "default" });
    const made = create(LogprobsSchema, {
      content: [
        { token: "Hi", logprob: -0.01, bytes: new Uint8Array([72, 105]), topLogprobs: [{ token: "Hi", logprob: -0.01, bytes: new Uint8Array([72, 105]) }, { token: "alt1", logprob: -1.01 }] },
        { token: " é", logprob: -0.5, bytes: new Uint8Array([32, 195, 169]), topLogprobs: [{ token: " é", logprob: -0.5, bytes: new Uint8Array([32, 195, 169]) }, { token: "alt1", logprob: -1.5 }] },
      ],
    });
    expect(result.logprobs).toStrictEqual(made);
  });

  it("are written back as OpenAI wrote them", () => {
    const result = fromOpenAIChatCompletion(COMPLETION, ctx);
    const response = create(ChatResponseSchema, { ...result, model: "gpt-4o", requestId: "r1" });
    const written = toOpenAIChatCompletion(response, COMPLETION.created);
    const { choices, usage: _usage, ...identity } = COMPLETION;
    expect(written).toMatchObject(identity);
    expect((written.choices as { logprobs: unknown }[])[0]!.logprobs).toEqual(choices[0]!.logprobs);
    // In OpenAI's key order: the tier and fingerprint after the model, logprobs before the finish reason.
    expect(Object.keys(written)).toEqual(["id", "object", "created", "model", "service_tier", "system_fingerprint", "choices", "usage"]);
    expect(Object.keys((written.choices as object[])[0]!)).toEqual(["index", "message", "logprobs", "finish_reason"]);
  });

  it("none asked: logprobs null, and the model as it was sent where the vendor names none", () => {
    const plain = fromOpenAIChatCompletion({ ...COMPLETION, model: undefined, service_tier: null, system_fingerprint: 7, choices: [{ ...COMPLETION.choices[0], logprobs: null }] }, ctx);
    expect(plain.logprobs).toBeUndefined();
    expect(plain).not.toHaveProperty("vendorModel");
    expect(plain).not.toHaveProperty("systemFingerprint");
    const written = toOpenAIChatCompletion(create(ChatResponseSchema, { ...plain, model: "gpt-4o" }), 1);
    expect(written).toMatchObject({ model: "gpt-4o", choices: [{ logprobs: null }] });
    expect(written).not.toHaveProperty("service_tier");
  });

  it("a refusal's tokens are logprobs.refusal, content null", () => {
    const logprobs = fromOpenAILogprobs({ content: null, refusal: [token("No", -0.1, 0)] }, "choices[0].logprobs", ctx)!;
    expect(toOpenAILogprobs(logprobs)).toEqual({ content: null, refusal: [token("No", -0.1, 0)] });
    // Asked, but no token (an empty answer): content [], as OpenAI writes it.
    expect(toOpenAILogprobs(create(LogprobsSchema, {}))).toEqual({ content: [], refusal: null });
  });

  it("keep at most 20 alternatives a token, whatever a vendor sends", () => {
    const logprobs = fromOpenAILogprobs({ content: [token("a", -1, 50)] }, "choices[0].logprobs", ctx)!;
    expect(logprobs.content[0]!.topLogprobs).toHaveLength(MAX_TOP_LOGPROBS);
  });

  it.each([
    [{ content: [{ token: "a", logprob: "high", top_logprobs: [] }] }, "choices[0].logprobs.content[0].logprob that is not a number"],
    [{ content: [{ token: 5, logprob: -1, top_logprobs: [] }] }, "choices[0].logprobs.content[0].token that is not a string"],
    [{ content: [{ token: "a", logprob: -1, bytes: [300], top_logprobs: [] }] }, "choices[0].logprobs.content[0].bytes that is not a list of bytes"],
    [{ content: {} }, "choices[0].logprobs.content that is not an array"],
  ])("%j is the vendor's bad_response, naming the field", (logprobs, problem) => {
    const err = thrown(() => fromOpenAIChatCompletion({ ...COMPLETION, choices: [{ ...COMPLETION.choices[0], logprobs }] }, ctx));
    expect(err.kind).toBe("bad_response");
    expect(err.message).toContain(problem);
  });

  it("are kept by the response cache, with the identity", () => {
    const answer: CacheableAnswer = {
      id: "chatcmpl-1",
      message: create(MessageSchema, { role: Role.ASSISTANT, content: "Hi é" }),
      finishReason: FinishReason.STOP,
      usage: create(UsageSchema, { promptTokens: 5, completionTokens: 2, totalTokens: 7 }),
      served: { provider: "openai", upstreamModel: "gpt-4o" },
      vendorModel: "gpt-4o-2024-08-06",
      systemFingerprint: "fp_06737a9306",
      serviceTier: "default",
      logprobs: fromOpenAIChatCompletion(COMPLETION, ctx).logprobs,
    };
    expect(decodeAnswer(encodeAnswer(answer))).toEqual(answer);
  });
});

const chunk = (choice: object | undefined, extra: object = {}) => ({
  data: {
    id: "chatcmpl-123",
    object: "chat.completion.chunk",
    created: 1694268190,
    model: "gpt-4o-2024-08-06",
    system_fingerprint: "fp_44709d6fcb",
    service_tier: "default",
    choices: choice ? [{ index: 0, finish_reason: null, ...choice }] : [],
    ...extra,
  },
});

describe("a stream's log probabilities and identity", () => {
  const events = [
    chunk({ delta: { role: "assistant", content: "" }, logprobs: { content: [], refusal: null } }),
    chunk({ delta: { content: "Hi" }, logprobs: { content: [token("Hi", -0.01, 1)], refusal: null } }),
    chunk({ delta: { content: " é" }, logprobs: { content: [token(" é", -0.5, 1)], refusal: null } }),
    chunk({ delta: {}, logprobs: null, finish_reason: "stop" }),
    { data: "[DONE]" },
  ];

  it("each delta has its tokens; the first the vendor's id and identity, which the end says again", () => {
    const { deltas, end } = decode(openAIChunkDecoder(ctx), events);
    expect(deltas.map((d) => d.logprobs?.content.map((t) => t.token))).toEqual([["Hi"], [" é"]]);
    expect(deltas[0]).toMatchObject({ id: "chatcmpl-123", vendorModel: "gpt-4o-2024-08-06", systemFingerprint: "fp_44709d6fcb", serviceTier: "default" });
    expect(deltas[1]).not.toHaveProperty("id");
    expect(deltas[1]).not.toHaveProperty("vendorModel");
    expect(end).toMatchObject({ id: "chatcmpl-123", vendorModel: "gpt-4o-2024-08-06", systemFingerprint: "fp_44709d6fcb", serviceTier: "default" });
  });

  it("a delta without them has no logprobs field (nothing made per chunk)", () => {
    const { deltas } = decode(openAIChunkDecoder(ctx), [chunk({ delta: { content: "Hi" } }), chunk({ delta: { content: "!" }, logprobs: null, finish_reason: "stop" }), { data: "[DONE]" }]);
    for (const delta of deltas) expect(delta).not.toHaveProperty("logprobs");
  });

  it("are written in every chunk as the vendor sent them: its id, model, tier and fingerprint, from the first; the role alone first", () => {
    const writer = new OpenAIChunkWriter(1694268190, () => ({ id: "chatcmpl-gateway", model: "gpt-4o" }));
    const { deltas } = decode(openAIChunkDecoder(ctx), events);
    const [first, second] = deltas.map((d) => ({ $typeName: "switchboard.v1.ChatDelta" as const, content: d.content, toolCalls: d.toolCalls, reasoningContent: "", reasoningSummarized: false, refusal: "", reasoning: [], logprobs: d.logprobs, id: d.id, vendorModel: d.vendorModel, systemFingerprint: d.systemFingerprint, serviceTier: d.serviceTier }));
    const head = { id: "chatcmpl-123", object: "chat.completion.chunk", created: 1694268190, model: "gpt-4o-2024-08-06", service_tier: "default", system_fingerprint: "fp_44709d6fcb" };
    expect(writer.opening(first!)).toEqual({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: { content: [], refusal: null }, finish_reason: null }] });
    expect(writer.delta(first!)).toEqual({ ...head, choices: [{ index: 0, delta: { content: "Hi" }, logprobs: { content: [token("Hi", -0.01, 1)], refusal: null }, finish_reason: null }] });
    expect(writer.opening(second!)).toBeUndefined();
    expect(writer.delta(second!)).toMatchObject(head);
  });

  it("where the vendor said nothing of itself, the gateway's id and the model the vendor was sent", () => {
    const writer = new OpenAIChunkWriter(1, () => ({ id: "chatcmpl-gateway", model: "gpt-4o" }));
    const plain = { $typeName: "switchboard.v1.ChatDelta" as const, content: "Hi", toolCalls: [], reasoningContent: "", reasoningSummarized: false, refusal: "", reasoning: [] };
    expect(writer.opening(plain)).toBeUndefined();
    expect(writer.delta(plain)).toEqual({ id: "chatcmpl-gateway", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] });
  });
});
