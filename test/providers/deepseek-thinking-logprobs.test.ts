// Log probabilities asked of DeepSeek's thinking mode (deepseek-reasoner, or
// deepseek-chat with `thinking` on), which DeepSeek answers with an error
// ("logprobs, top_logprobs ... will trigger an error",
// https://api-docs.deepseek.com/guides/reasoning_model; the fake enforces
// it): refused before DeepSeek is asked, naming the field, as log
// probabilities are for a vendor that gives none. Without thinking,
// deepseek-chat gives them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { restChat } from "./rest.js";

let deepseek: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  deepseek = await startOpenAIFake({ apiKey: "sk-deepseek-logprobs", vendor: "deepseek" });
  gw = await startGateway({ DEEPSEEK_API_KEY: "sk-deepseek-logprobs", DEEPSEEK_BASE_URL: deepseek.baseUrl }, SCRIPTED_FAILURES_REACH_THE_CALLER);
});
afterAll(async () => {
  await gw?.stop();
  await deepseek?.close();
});

const hi = [{ role: "user", content: "hi" }];

describe("log probabilities while DeepSeek thinks", () => {
  it.each([
    ["deepseek-reasoner, logprobs", { model: "deepseek-reasoner", logprobs: true }, "logprobs"],
    ["deepseek-reasoner, top_logprobs alone", { model: "deepseek-reasoner", top_logprobs: 3 }, "top_logprobs"],
    ["deepseek-chat with thinking on", { model: "deepseek-chat", thinking: { type: "enabled" }, logprobs: true, top_logprobs: 2 }, "logprobs"],
  ])("%s: InvalidArgument naming the field, DeepSeek not asked", async (_, fields, param) => {
    const before = deepseek.chatRequests().length;
    const { status, json } = await restChat(gw, { messages: hi, ...fields });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param });
    expect(json.error.message).toContain("returns no log probabilities while it reasons");
    expect(deepseek.chatRequests().length).toBe(before);
  });

  it("logprobs: false asks for nothing, and is served", async () => {
    const { status } = await restChat(gw, { model: "deepseek-reasoner", messages: hi, logprobs: false });
    expect(status).toBe(200);
  });

  it("deepseek-chat without thinking is sent them", async () => {
    const { status } = await restChat(gw, { model: "deepseek-chat", messages: hi, logprobs: true, top_logprobs: 2 });
    expect(status).toBe(200);
    expect(deepseek.chatRequests().at(-1)).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });
});
