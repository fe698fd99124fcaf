// Claude refuses a stop sequence that is empty or only whitespace (the fake
// words it as Anthropic does), which OpenAI takes (`stop: ["\n"]` is common).
// Dropped, the answer would run past where the caller asked it to stop: a
// Claude candidate is refused instead, as one given more stop sequences than
// it takes is, so a route's fallback serves, and with none the caller's 400
// names its own field, before Claude is asked.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, violation, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const CLAUDE = "claude-sonnet-4-5";
const GPT = "gpt-4o-mini";
/** Claude, falling back to gpt-4o-mini. */
const FALLING_BACK = "careful";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;
let oa: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001" });
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-fake-000000000001" });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-fake-000000000001", OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_API_KEY: "sk-ant-fake-000000000001", ANTHROPIC_BASE_URL: anthropic.baseUrl },
    { traffic: { retry: { max_attempts: 1 } }, routes: [{ model: FALLING_BACK, provider: "anthropic", upstream_model: CLAUDE, fallbacks: [GPT] }] },
  );
  oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

const messages = [{ role: "user" as const, content: "hello there" }];

describe("a blank stop sequence asked of Claude", () => {
  it.each([
    [["\n"], "stop sequence 0 is only whitespace"],
    [["END", ""], "stop sequence 1 is empty"],
  ])("%j: a 400 naming stop, no vendor asked", async (stop, reason) => {
    const before = anthropic.requests.length;
    const err = await oa.chat.completions.create({ model: CLAUDE, stop, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const error = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.param).toBe("stop");
    expect(error.message).toContain(`stop: ${reason}`);
    expect(error.message).toContain(`${CLAUDE} (Anthropic Messages) takes only stop sequences with a character other than whitespace`);
    expect(anthropic.requests.length).toBe(before);
  });

  it("on a route with a fallback that takes it: served by the fallback, stop as asked", async () => {
    const before = anthropic.requests.length;
    const answer = await oa.chat.completions.create({ model: FALLING_BACK, stop: ["\n"], messages });
    expect(answer.model).toMatch(new RegExp(`^${GPT}`));
    expect(openai.chatRequests().at(-1)!.stop).toEqual(["\n"]);
    expect(anthropic.requests.length).toBe(before);
  });

  it("stop sequences with text besides whitespace go to Claude as they are", async () => {
    await oa.chat.completions.create({ model: CLAUDE, stop: ["\nEND", " x "], messages });
    expect(anthropic.messageRequests().at(-1)!.stop_sequences).toEqual(["\nEND", " x "]);
  });
});

describe("the Anthropic fake", () => {
  it("refuses empty and whitespace-only stop sequences in Anthropic's words", () => {
    const body = { model: CLAUDE, max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
    expect(violation({ ...body, stop_sequences: ["", "\n"] })).toBe("stop_sequences: each stop sequence must be non-empty");
    expect(violation({ ...body, stop_sequences: ["\n"] })).toBe("stop_sequences: each stop sequence must contain non-whitespace");
    expect(violation({ ...body, stop_sequences: ["\nEND"] })).toBeUndefined();
  });
});
