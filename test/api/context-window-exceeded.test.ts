// An answer Claude cut because the prompt and answer filled its context
// window (stop_reason "model_context_window_exceeded", Sonnet 4.5 on), as
// each surface tells the official SDKs. Claude Code tells its user the
// context is full for that reason, and to raise CLAUDE_CODE_MAX_OUTPUT_TOKENS
// for "max_tokens", which would not help: /v1/messages keeps the two apart,
// as the typed API does; Chat Completions says "length" and Responses
// "max_output_tokens", as OpenAI says its own.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY } from "../support/gateway.js";

const UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789abcdef";
const MODEL = "claude-sonnet-4-5";
/** The fake's context window, in words: a short prompt's answer fits, a long one's does not. */
const CONTEXT_WINDOW = 40;

const world = gatewayOverFake(
  () => startAnthropicFake({ apiKey: UPSTREAM_KEY, contextWindow: CONTEXT_WINDOW }),
  (fake) => ({ ANTHROPIC_API_KEY: UPSTREAM_KEY, ANTHROPIC_BASE_URL: fake.baseUrl }),
);

/** A prompt whose echo does not fit in what it leaves of the context window. */
const LONG_PROMPT = Array.from({ length: 20 }, (_, i) => `part${i}`).join(" ");

let anthropic: Anthropic;
let openai: OpenAI;
beforeAll(() => {
  anthropic = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

describe("/v1/messages with the Anthropic SDK", () => {
  it("stops with model_context_window_exceeded, unary and streamed, never max_tokens", async () => {
    const request = { model: MODEL, max_tokens: 1000, messages: [{ role: "user" as const, content: LONG_PROMPT }] };
    const answer = await anthropic.messages.create(request);
    expect(answer.stop_reason).toBe("model_context_window_exceeded");
    expect(answer.stop_sequence).toBeNull();
    expect(answer.content).toEqual([{ type: "text", text: expect.stringMatching(/^Echo: part0 /) }]);

    const final = await anthropic.messages.stream(request).finalMessage();
    expect(final.stop_reason).toBe("model_context_window_exceeded");
    expect(final.content).toEqual(answer.content);
  });

  it("still stops with max_tokens for an answer cut at max_tokens", async () => {
    const request = { model: MODEL, max_tokens: 1, messages: [{ role: "user" as const, content: "hello there" }] };
    expect((await anthropic.messages.create(request)).stop_reason).toBe("max_tokens");
    expect((await anthropic.messages.stream(request).finalMessage()).stop_reason).toBe("max_tokens");
  });
});

describe("the OpenAI surfaces with the OpenAI SDK", () => {
  it("Chat Completions: finish_reason length, unary and through the stream helper", async () => {
    const request = { model: MODEL, max_tokens: 1000, messages: [{ role: "user" as const, content: LONG_PROMPT }] };
    const answer = await openai.chat.completions.create(request);
    expect(answer.choices[0]!.finish_reason).toBe("length");
    expect(answer.choices[0]!.message.content).toMatch(/^Echo: part0 /);

    const final = await openai.chat.completions.stream(request).finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("length");
  });

  it("Responses: an incomplete Response, for max_output_tokens", async () => {
    const answer = await openai.responses.create({ model: MODEL, max_output_tokens: 1000, input: LONG_PROMPT, store: false });
    expect(answer.status).toBe("incomplete");
    expect(answer.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });
});

describe("the typed API", () => {
  it("says CONTEXT_WINDOW_EXCEEDED, apart from LENGTH, unary and in the stream's summary", async () => {
    const request = { model: MODEL, maxTokens: 1000, messages: [{ role: Role.USER, content: LONG_PROMPT }] };
    expect((await world.gw.client().chat(request)).finishReason).toBe(FinishReason.CONTEXT_WINDOW_EXCEEDED);
    let summarised: FinishReason | undefined;
    for await (const event of world.gw.client().chatStream(request)) if (event.event.case === "summary") summarised = event.event.value.finishReason;
    expect(summarised).toBe(FinishReason.CONTEXT_WINDOW_EXCEEDED);

    expect((await world.gw.client().chat({ ...request, maxTokens: 1, messages: [{ role: Role.USER, content: "hello there" }] })).finishReason).toBe(FinishReason.LENGTH);
  });
});
