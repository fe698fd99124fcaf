// Vendors' own thinking switches sent as the caller's own fields on the REST
// surfaces, as each vendor's docs tell OpenAI SDK users to send them in
// extra_body: Zhipu's and DeepSeek's `thinking: {type}`, and a chat
// template's `chat_template_kwargs.enable_thinking` (vLLM and other
// OpenAI-compatible servers). They are read as the reasoning request, so the
// reasoning is fitted to the model that serves and reserved for; before, they
// went on as sent, switching thinking on with nothing reserved. On the typed
// API they are refused unless `reasoning` says the same.
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const DASHSCOPE_KEY = "sk-dashscope-upstream-0123456789abcdef";

let dashscope: DashScopeFake;
let deepseek: OpenAIFake;
let zhipu: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  dashscope = await startDashScopeFake({ apiKey: DASHSCOPE_KEY });
  deepseek = await startOpenAIFake({ apiKey: "sk-deepseek", vendor: "deepseek" });
  zhipu = await startOpenAIFake({ apiKey: "sk-zhipu", vendor: "zhipu" });
  gw = await startGateway(
    {
      DASHSCOPE_API_KEY: DASHSCOPE_KEY,
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      DEEPSEEK_API_KEY: "sk-deepseek",
      DEEPSEEK_BASE_URL: deepseek.baseUrl,
      ZHIPU_API_KEY: "sk-zhipu",
      ZHIPU_BASE_URL: zhipu.baseUrl,
    },
    { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR },
  );
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([dashscope, deepseek, zhipu].map((fake) => fake?.close()));
});

const post = (path: string, body: Record<string, unknown>, key = MASTER_KEY, signal?: AbortSignal) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body), signal });
const chat = (model: string, own: Record<string, unknown>, key?: string, signal?: AbortSignal) =>
  post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }], max_tokens: 5, ...own }, key, signal);
const sentToDashScope = () => dashscope.generationRequests().at(-1)!.body.parameters;

describe("thinking: {type} (Zhipu, DeepSeek) as the caller's own field", () => {
  it("switches on the model's own reasoning, sent by the gateway (DeepSeek)", async () => {
    const res = await chat("deepseek-chat", { thinking: { type: "enabled" } });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { message: { reasoning_content?: string } }[] };
    expect(answer.choices[0]!.message.reasoning_content).toBeTruthy();
    expect(deepseek.chatRequests().at(-1)).toMatchObject({ thinking: { type: "enabled" } });
  });

  it("is sent as the model's own switch and budget where the model takes another (Qwen), on both REST surfaces", async () => {
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "qwen-plus", messages: [{ role: "user", content: "hi" }], max_tokens: 5, thinking: { type: "enabled", budget_tokens: 3000 } }],
      ["/v1/responses", { model: "qwen-plus", input: "hi", max_output_tokens: 16, thinking: { type: "enabled", budget_tokens: 3000 } }],
    ] as const) {
      const res = await post(path, body);
      expect(res.status, path).toBe(200);
      await res.text();
      expect(sentToDashScope(), path).toMatchObject({ enable_thinking: true, thinking_budget: 3000 });
      expect(sentToDashScope(), path).not.toHaveProperty("thinking");
    }
  });

  it("is dropped, and said to be, for a model that does not reason (GLM-4-Plus)", async () => {
    const res = await chat("glm-4-plus", { thinking: { type: "enabled" } });
    expect(res.status).toBe(200);
    await res.text();
    expect(zhipu.chatRequests().at(-1)).not.toHaveProperty("thinking");
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning=dropped");
  });

  it("switched off, goes on as sent", async () => {
    const res = await chat("glm-4.5", { thinking: { type: "disabled" } });
    expect(res.status).toBe(200);
    await res.text();
    expect(zhipu.chatRequests().at(-1)).toMatchObject({ thinking: { type: "disabled" } });
  });

  it("refuses what contradicts itself, or what it cannot send on, naming the field, before any vendor is asked", async () => {
    const asked = () => zhipu.chatRequests().length + deepseek.chatRequests().length;
    const before = asked();
    for (const [body, field] of [
      [{ thinking: { type: "disabled" }, reasoning_effort: "high" }, "thinking"],
      [{ thinking: { type: "disabled" }, enable_thinking: true }, "thinking"],
      [{ thinking: { type: "enabled", budget_tokens: 2000 }, thinking_budget: 4000 }, "thinking_budget"],
      [{ thinking: { type: "auto" } }, "thinking.type"],
      [{ thinking: { type: "enabled", clear_thinking: false } }, "thinking.clear_thinking"],
      [{ chat_template_kwargs: { enable_thinking: false }, reasoning_effort: "low" }, "chat_template_kwargs.enable_thinking"],
    ] as const) {
      const res = await chat("glm-4.5", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param, JSON.stringify(body)).toBe(field);
    }
    expect(asked()).toBe(before);
  });
});

describe("chat_template_kwargs.enable_thinking (vLLM and other OpenAI-compatible servers) as the caller's own field", () => {
  it("asks for reasoning, which the model is sent in its own terms, the template's switch staying as sent", async () => {
    const res = await chat("qwen-plus", { chat_template_kwargs: { enable_thinking: true } });
    expect(res.status).toBe(200);
    await res.text();
    expect(sentToDashScope()).toMatchObject({ enable_thinking: true, thinking_budget: 8192, chat_template_kwargs: { enable_thinking: true } });
  });

  it("counts the reasoning in what a call takes of the key's tokens per minute", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "template-thinking-tpm", key: { displayName: "tokens", tokensPerMinute: 2000n } });
    // The first call is kept running (its stream slowed) while the second asks.
    dashscope.options.chunkDelayMs = 5_000;
    const running = new AbortController();
    const asked = dashscope.generationRequests().length;
    const first = chat("qwen-plus", { chat_template_kwargs: { enable_thinking: true }, stream: true }, secret, running.signal)
      .then((res) => res.text())
      .catch(() => "aborted");
    try {
      await expect.poll(() => dashscope.generationRequests().length).toBe(asked + 1);
      // It may think for 8,192 tokens: the key's whole minute. Counted as 5 tokens of answer, it would leave room for this one.
      const second = await chat("qwen-plus", { max_tokens: 1500 }, secret);
      expect(second.status).toBe(429);
      await second.text();
    } finally {
      running.abort();
      dashscope.options.chunkDelayMs = undefined;
    }
    expect(await first).toBe("aborted");
  });
});

describe("the same switches as typed vendor options", () => {
  const ask = (vendorOptions: JsonObject, reasoning?: { budgetTokens: number }) =>
    gw.client().chat({ model: "qwen-plus", messages: [{ role: Role.USER, content: "hi" }], maxTokens: 5, vendorOptions, reasoning });

  it("refuses thinking switched on: reasoning is the field that is budgeted", async () => {
    const err = await failure(ask({ thinking: { type: "enabled" } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("vendor_options.thinking: set reasoning instead");
  });

  it("refuses a template's switch on unless reasoning is set too", async () => {
    const err = await failure(ask({ chat_template_kwargs: { enable_thinking: true } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("vendor_options.chat_template_kwargs.enable_thinking: switches thinking on: set reasoning too");
    await ask({ chat_template_kwargs: { enable_thinking: true } }, { budgetTokens: 1024 });
    expect(sentToDashScope()).toMatchObject({ enable_thinking: true, thinking_budget: 1024 });
  });

  it("takes them switched off", async () => {
    await ask({ thinking: { type: "disabled" }, chat_template_kwargs: { enable_thinking: false } });
    expect(sentToDashScope()).toMatchObject({ thinking: { type: "disabled" }, chat_template_kwargs: { enable_thinking: false } });
  });
});
