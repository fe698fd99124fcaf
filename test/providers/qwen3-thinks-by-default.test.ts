// Open-source Qwen3 on DashScope (qwen3-32b, qwen3-235b-a22b, qwen3-30b-a3b)
// think unless told not to: enable_thinking is true by default for them,
// false for the commercial models. A call that asks for no reasoning is sent
// enable_thinking: false, and told so in its adjustments, so it neither
// thinks beyond max_tokens with nothing reserved nor pays the thinking price
// for reasoning it did not ask for. Before, nothing was sent and the model
// thought within its default budget.
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY } from "../support/gateway.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";

const native = gatewayOverFake(
  () => startDashScopeFake({ apiKey: API_KEY, models: ["qwen-plus", "qwen3-32b", "qwen3-235b-a22b", "qwen3-30b-a3b"] }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }),
);

const sentParameters = () => native.fake.generationRequests().at(-1)!.body.parameters;
const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hello there" }], maxTokens: 50 });

describe("open-source Qwen3 on DashScope native, asked for no reasoning", () => {
  it.each(["qwen3-32b", "qwen3-235b-a22b", "qwen3-30b-a3b"])("%s is told not to think, and the call says so", async (model) => {
    const res = await native.gw.client().chat(ask(model));
    expect(sentParameters().enable_thinking).toBe(false);
    expect(res.message?.reasoningContent).toBe("");
    expect(res.usage?.reasoningTokens).toBe(0);
    expect(res.adjustments).toContainEqual(expect.objectContaining({ parameter: "reasoning", requested: "", sent: "off" }));
  });

  it("thinks within the budget reserved when asked", async () => {
    const res = await native.gw.client().chat({ ...ask("qwen3-32b"), reasoning: { budgetTokens: 1024 } });
    expect(sentParameters()).toMatchObject({ enable_thinking: true, thinking_budget: 1024 });
    expect(res.message?.reasoningContent).toBe("Thinking about hello there.");
  });

  it("leaves a commercial model, which thinks only when asked, without the switch", async () => {
    await native.gw.client().chat(ask("qwen-plus"));
    expect(sentParameters()).not.toHaveProperty("enable_thinking");
  });

  it("says so on the REST surface too", async () => {
    const res = await fetch(`${native.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen3-32b", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentParameters().enable_thinking).toBe(false);
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning=converted(unset->off)");
  });
});

const compatible = gatewayOverFake(
  () => startOpenAIFake({ apiKey: API_KEY, models: ["qwen3-32b"] }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_MODE: "compatible", DASHSCOPE_BASE_URL: fake.baseUrl }),
);

describe("open-source Qwen3 on DashScope compatible mode, asked for no reasoning", () => {
  it("is sent enable_thinking: false", async () => {
    await compatible.gw.client().chat(ask("qwen3-32b"));
    expect(compatible.fake.chatRequests().at(-1)).toMatchObject({ model: "qwen3-32b", enable_thinking: false });
  });
});
