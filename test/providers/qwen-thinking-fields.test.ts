// Qwen's `enable_thinking` and `thinking_budget`, sent as the caller's own
// fields on the REST surfaces (Qwen's docs have OpenAI SDK users send them in
// extra_body), are read as the reasoning request: the vendor gets the
// gateway's own fields, within the model's budget range, and what a call may
// spend reasoning is reserved. Before, `enable_thinking` went on as sent (the
// model thinking within its default budget, up to 38,912 tokens, that nothing
// reserved) and `thinking_budget` was refused.
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY } from "../support/gateway.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";

const native = gatewayOverFake(
  () => startDashScopeFake({ apiKey: API_KEY }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }),
);

const post = (path: string, body: Record<string, unknown>, key = MASTER_KEY, signal?: AbortSignal) =>
  fetch(`${native.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body), signal });
const chat = (body: Record<string, unknown>, key?: string, signal?: AbortSignal) =>
  post("/v1/chat/completions", { model: "qwen-plus", messages: [{ role: "user", content: "hi" }], max_tokens: 5, ...body }, key, signal);
const sentParameters = () => native.fake.generationRequests().at(-1)!.body.parameters;

describe("Qwen's enable_thinking and thinking_budget on the REST surfaces (DashScope native)", () => {
  it("sends enable_thinking: true as the gateway's own, with a budget it reserves for (a medium one when none was given)", async () => {
    const res = await chat({ enable_thinking: true, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentParameters()).toMatchObject({ enable_thinking: true, thinking_budget: 8192, max_tokens: 5, incremental_output: true });
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning.budget_tokens");
  });

  it("takes the caller's thinking_budget, and serves a unary call that thinks (streamed upstream, as DashScope requires)", async () => {
    const res = await chat({ enable_thinking: true, thinking_budget: 2000 });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { message: { content: string; reasoning_content?: string } }[] };
    expect(answer.choices[0]!.message).toMatchObject({ content: "Echo: hi", reasoning_content: "Thinking about hi." });
    expect(sentParameters()).toMatchObject({ enable_thinking: true, thinking_budget: 2000 });
  });

  it("reads them on /v1/responses too", async () => {
    const res = await post("/v1/responses", { model: "qwen-plus", input: "hi", max_output_tokens: 16, enable_thinking: true, thinking_budget: 3000 });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentParameters()).toMatchObject({ enable_thinking: true, thinking_budget: 3000, max_tokens: 16 });
  });

  it("sends enable_thinking: false as the caller sent it, without the budget it makes meaningless", async () => {
    const res = await chat({ enable_thinking: false, thinking_budget: 2000 });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentParameters().enable_thinking).toBe(false);
    expect(sentParameters()).not.toHaveProperty("thinking_budget");
  });

  it("drops them, and says so, for a model that does not reason", async () => {
    const res = await chat({ model: "qwen-max", enable_thinking: true });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentParameters()).not.toHaveProperty("enable_thinking");
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning=dropped");
  });

  it("refuses what contradicts itself, naming the field, before any vendor is asked", async () => {
    const asked = native.fake.generationRequests().length;
    for (const [body, field] of [
      [{ enable_thinking: false, reasoning_effort: "high" }, "enable_thinking"],
      [{ thinking_budget: 2000, reasoning: { max_tokens: 4000 } }, "thinking_budget"],
      [{ thinking_budget: 0.5 }, "thinking_budget"],
      [{ enable_thinking: "yes" }, "enable_thinking"],
    ] as const) {
      const res = await chat(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param, JSON.stringify(body)).toBe(field);
    }
    expect(native.fake.generationRequests().length).toBe(asked);
  });

  it("refuses enable_thinking as a typed vendor option: reasoning is the field that is budgeted", async () => {
    const err = await failure(native.gw.client().chat({ model: "qwen-plus", messages: [{ role: Role.USER, content: "hi" }], vendorOptions: { enable_thinking: true } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("vendor_options.enable_thinking: set reasoning instead");
  });

  it("counts the reasoning in what a call takes of the key's tokens per minute", async () => {
    const admin = createClient(AdminService, native.gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "qwen-thinking-tpm", key: { displayName: "tokens", tokensPerMinute: 2000n } });
    // The first call is kept running (its stream slowed) while the second asks.
    native.fake.options.chunkDelayMs = 5_000;
    const running = new AbortController();
    const asked = native.fake.generationRequests().length;
    const first = chat({ enable_thinking: true, stream: true }, secret, running.signal).then((res) => res.text()).catch(() => "aborted");
    try {
      await expect.poll(() => native.fake.generationRequests().length).toBe(asked + 1);
      // It may think for 8,192 tokens: the key's whole minute. Counted as 5 tokens of answer, it would leave room for this one.
      const second = await chat({ max_tokens: 1500 }, secret);
      expect(second.status).toBe(429);
      expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(/tokens/);
    } finally {
      running.abort();
      native.fake.options.chunkDelayMs = undefined;
    }
    expect(await first).toBe("aborted");
  });
});

const compatible = gatewayOverFake(
  () => startOpenAIFake({ apiKey: API_KEY, models: ["qwen-plus"] }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_MODE: "compatible", DASHSCOPE_BASE_URL: fake.baseUrl }),
);

describe("Qwen's enable_thinking on DashScope compatible mode", () => {
  it("sends the gateway's enable_thinking and thinking_budget", async () => {
    const res = await fetch(`${compatible.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen-plus", messages: [{ role: "user", content: "hi" }], max_tokens: 5, enable_thinking: true }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(compatible.fake.chatRequests().at(-1)).toMatchObject({ enable_thinking: true, thinking_budget: 8192, max_tokens: 5 });
  });
});
