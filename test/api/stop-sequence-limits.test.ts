// How many stop sequences a call may carry is the serving model's rule (the
// model catalogue: OpenAI's 4, Gemini's 5; Anthropic names none), not one
// limit for every vendor; past it the caller's 400 names the caller's own
// field (`stop_sequences` on /v1/messages, `stop` on Chat Completions) and the
// model. A route whose primary takes fewer is served by a fallback that takes them.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_STOP_SEQUENCES } from "../../src/api/validate.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const CLAUDE = "claude-sonnet-4-5";
const GEMINI = "gemini-2.5-flash";
const GPT = "gpt-4o-mini";
/** gpt-4o-mini, falling back to Claude. */
const FALLING_BACK = "smart";

let openai: OpenAIFake;
let anthropicFake: AnthropicFake;
let gemini: GeminiFake;
let gw: TestGateway;
let anthropic: Anthropic;
let oa: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001" });
  anthropicFake = await startAnthropicFake({ apiKey: "sk-ant-fake-000000000001" });
  gemini = await startGeminiFake({ apiKey: "AIzaFakeGeminiKey000000001" });
  gw = await startGateway(
    {
      OPENAI_API_KEY: "sk-openai-fake-000000000001",
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_API_KEY: "sk-ant-fake-000000000001",
      ANTHROPIC_BASE_URL: anthropicFake.baseUrl,
      GEMINI_API_KEY: "AIzaFakeGeminiKey000000001",
      GEMINI_BASE_URL: gemini.baseUrl,
    },
    { traffic: { retry: { max_attempts: 1 } }, routes: [{ model: FALLING_BACK, provider: "openai", upstream_model: GPT, fallbacks: [CLAUDE] }] },
  );
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
  oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai?.close(), anthropicFake?.close(), gemini?.close()]);
});

const sequences = (n: number) => Array.from({ length: n }, (_, i) => `STOP${i}`);
const messages = [{ role: "user" as const, content: "hello there" }];

async function anthropicError(model: string, stops: number): Promise<string> {
  const err = await anthropic.messages.create({ model, max_tokens: 64, stop_sequences: sequences(stops), messages }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  return (err as InstanceType<typeof Anthropic.BadRequestError>).message;
}

describe("/v1/messages (the Anthropic SDK)", () => {
  it("Claude takes more than 4 stop sequences: they reach it", async () => {
    const answer = await anthropic.messages.create({ model: CLAUDE, max_tokens: 64, stop_sequences: sequences(6), messages });
    expect(answer.type).toBe("message");
    expect(anthropicFake.messageRequests().at(-1)!.stop_sequences).toEqual(sequences(6));
  });

  it("past gpt-4o-mini's 4: a 400 naming stop_sequences and the model, no vendor asked", async () => {
    const before = openai.requests.length;
    expect(await anthropicError(GPT, 6)).toContain(`stop_sequences: ${GPT} takes at most 4 stop sequences, got 6`);
    expect(openai.requests.length).toBe(before);
  });

  it("a route whose primary takes fewer is served by its fallback", async () => {
    await anthropic.messages.create({ model: FALLING_BACK, max_tokens: 64, stop_sequences: sequences(6), messages });
    expect(anthropicFake.messageRequests().at(-1)!.stop_sequences).toEqual(sequences(6));
  });

  it(`past the gateway's own bound (${MAX_STOP_SEQUENCES}), whatever serves: a 400 naming stop_sequences`, async () => {
    expect(await anthropicError(CLAUDE, MAX_STOP_SEQUENCES + 1)).toContain(`stop_sequences: at most ${MAX_STOP_SEQUENCES} stop sequences a call`);
  });
});

describe("Chat Completions (the OpenAI SDK)", () => {
  it("Gemini takes 5", async () => {
    await oa.chat.completions.create({ model: GEMINI, stop: sequences(5), messages });
    expect(gemini.generateRequests().at(-1)!.generationConfig.stopSequences).toEqual(sequences(5));
  });

  it.each([
    [GEMINI, 6, 5],
    [GPT, 5, 4],
  ])("%s with %i: a 400 naming stop and the model's limit (%i)", async (model, stops, most) => {
    const err = await oa.chat.completions.create({ model, stop: sequences(stops), messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const error = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.param).toBe("stop");
    expect(error.message).toContain(`stop: ${model} takes at most ${most} stop sequences, got ${stops}`);
  });
});
