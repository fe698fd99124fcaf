// A Connect Chat asking for xhigh reaches a model the catalogue says takes it
// (gpt-5.4) as xhigh on Chat Completions, with nothing adjusted; the fake
// refuses xhigh for the models OpenAI refuses it for (gpt-5), which the gateway
// fits to high instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-openai-vendor", models: ["gpt-5", "gpt-5.4"] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const chat = (model: string, effort: ReasoningEffort) => gw.client("connect").chat({ model, messages: [{ role: Role.USER, content: "hi" }], reasoning: { effort } });

describe("Connect Chat with REASONING_EFFORT_XHIGH", () => {
  it("reaches gpt-5.4 as xhigh, with nothing adjusted", async () => {
    const answer = await chat("gpt-5.4", ReasoningEffort.XHIGH);
    expect(answer.adjustments).toEqual([]);
    expect(fake.chatRequests().at(-1)).toMatchObject({ model: "gpt-5.4", reasoning_effort: "xhigh" });
  });

  it("reaches gpt-5, which takes no xhigh, as high", async () => {
    await chat("gpt-5", ReasoningEffort.XHIGH);
    expect(fake.chatRequests().at(-1)).toMatchObject({ model: "gpt-5", reasoning_effort: "high" });
  });
});
