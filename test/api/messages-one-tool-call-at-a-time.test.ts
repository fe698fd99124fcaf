// `tool_choice.disable_parallel_tool_use: true` on `/v1/messages` (Claude
// Code's one tool call at a time) reaches every vendor with a switch for it,
// said its way: Anthropic's own field, OpenAI's and DashScope's (both modes)
// `parallel_tool_calls: false`. A vendor without one (DeepSeek, Gemini), whose
// fake refuses any field it does not document, is not sent it, and the caller
// is told in x-switchboard-adjusted; a model that calls one function at a time
// anyway (o3, which refuses the field; GLM) is not sent it, without a word.
// The Chat Completions and Responses surfaces' own parallel_tool_calls is
// fitted alike: not sent to DeepSeek, and its `false` reported as dropped
// (audit vendors2 #2).
import OpenAI from "openai";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { chatRequestFromOpenAI } from "../../src/providers/openai/chat-request.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

let anthropic: AnthropicFake;
let openai: OpenAIFake;
let deepseek: OpenAIFake;
let zhipu: OpenAIFake;
let gemini: GeminiFake;
let dashscope: DashScopeFake;
/** DashScope's compatible mode: OpenAI's dialect, DashScope's models. */
let qwenCompatible: OpenAIFake;
let gw: TestGateway;
/** A gateway whose DashScope provider speaks the compatible mode. */
let compatibleGw: TestGateway;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor" });
  openai = await startOpenAIFake({ apiKey: "sk-openai-vendor", models: ["gpt-4o-mini", "o3"] });
  deepseek = await startOpenAIFake({ apiKey: "sk-deepseek-vendor", vendor: "deepseek" });
  zhipu = await startOpenAIFake({ apiKey: "sk-zhipu-vendor", vendor: "zhipu" });
  gemini = await startGeminiFake({ apiKey: "AIzaFakeGeminiKey000000001" });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-vendor" });
  qwenCompatible = await startOpenAIFake({ apiKey: "sk-dashscope-vendor", models: ["qwen-plus"] });
  const file = { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR };
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-vendor",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      OPENAI_API_KEY: "sk-openai-vendor",
      OPENAI_BASE_URL: openai.baseUrl,
      DEEPSEEK_API_KEY: "sk-deepseek-vendor",
      DEEPSEEK_BASE_URL: deepseek.baseUrl,
      ZHIPU_API_KEY: "sk-zhipu-vendor",
      ZHIPU_BASE_URL: zhipu.baseUrl,
      GEMINI_API_KEY: "AIzaFakeGeminiKey000000001",
      GEMINI_BASE_URL: gemini.baseUrl,
      DASHSCOPE_API_KEY: "sk-dashscope-vendor",
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
    },
    file,
  );
  compatibleGw = await startGateway({ DASHSCOPE_API_KEY: "sk-dashscope-vendor", DASHSCOPE_MODE: "compatible", DASHSCOPE_BASE_URL: qwenCompatible.baseUrl }, file);
});
afterAll(async () => {
  await Promise.all([gw?.stop(), compatibleGw?.stop()]);
  await Promise.all([anthropic, openai, deepseek, zhipu, gemini, dashscope, qwenCompatible].map((fake) => fake?.close()));
});

const LOOKUP = { name: "lookup", description: "Looks a thing up", input_schema: { type: "object", properties: { query: { type: "string" } } } };

/** Claude Code's request shape: tools, and one call at a time. */
function messages(model: string, toolChoice: Record<string, unknown> = { type: "auto", disable_parallel_tool_use: true }, extra: Record<string, unknown> = {}) {
  return { model, max_tokens: 200, messages: [{ role: "user", content: "weather in Paris" }], tools: [LOOKUP], tool_choice: toolChoice, ...extra };
}

async function post(body: unknown, gateway: TestGateway = gw): Promise<{ status: number; adjusted: string; text: string }> {
  const res = await fetch(`${gateway.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, adjusted: res.headers.get("x-switchboard-adjusted") ?? "", text: await res.text() };
}

describe("disable_parallel_tool_use on /v1/messages", () => {
  it("Anthropic: the caller's tool_choice goes on as written", async () => {
    const { status } = await post(messages("claude-sonnet-4-5"));
    expect(status).toBe(200);
    expect(anthropic.messageRequests().at(-1)!.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it.each([false, true])("OpenAI (stream %s): parallel_tool_calls false, beside the tools", async (stream) => {
    const { status, adjusted, text } = await post(messages("gpt-4o-mini", undefined, { stream }));
    expect(status).toBe(200);
    expect(text).toContain("tool_use");
    expect(openai.chatRequests().at(-1)).toMatchObject({ parallel_tool_calls: false, tool_choice: "auto" });
    expect(adjusted).toBe("");
  });

  it("OpenAI: a forced tool keeps its choice, one call at a time", async () => {
    await post(messages("gpt-4o-mini", { type: "tool", name: "lookup", disable_parallel_tool_use: true }));
    expect(openai.chatRequests().at(-1)).toMatchObject({ parallel_tool_calls: false, tool_choice: { type: "function", function: { name: "lookup" } } });
  });

  it("OpenAI: not sent when no tool may be called (tool_choice none), nor when the caller did not ask", async () => {
    await post(messages("gpt-4o-mini", { type: "none", disable_parallel_tool_use: true }));
    expect(openai.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    await post(messages("gpt-4o-mini", { type: "auto", disable_parallel_tool_use: false }));
    expect(openai.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    await post(messages("gpt-4o-mini", { type: "auto" }));
    expect(openai.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
  });

  it("o3, which calls one function at a time and refuses the field: not sent, nothing to report", async () => {
    const { status, adjusted } = await post(messages("o3"));
    expect(status).toBe(200);
    expect(openai.chatRequests().at(-1)!.model).toBe("o3");
    expect(openai.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(adjusted).not.toContain("disable_parallel_tool_use");
  });

  it("GLM, one function at a time too: not sent, nothing to report", async () => {
    const { status, adjusted } = await post(messages("glm-4-plus"));
    expect(status).toBe(200);
    expect(zhipu.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(adjusted).not.toContain("disable_parallel_tool_use");
  });

  it.each([false, true])("DeepSeek (stream %s), whose API has no such field: not sent, and reported as dropped", async (stream) => {
    const { status, adjusted } = await post(messages("deepseek-chat", undefined, { stream }));
    expect(status).toBe(200);
    expect(deepseek.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(adjusted).toContain("tool_choice.disable_parallel_tool_use=dropped(deepseek-chat has no switch for parallel function calls, and may call several at once)");
  });

  it("Gemini, which has no switch either: nothing foreign sent, and reported as dropped", async () => {
    const { status, adjusted } = await post(messages("gemini-2.5-flash"));
    expect(status).toBe(200);
    expect(JSON.stringify(gemini.generateRequests().at(-1))).not.toMatch(/parallel/i);
    expect(adjusted).toContain("tool_choice.disable_parallel_tool_use=dropped(gemini-2.5-flash has no switch");
  });

  it("DashScope's native API: parameters.parallel_tool_calls false", async () => {
    const { status, adjusted } = await post(messages("qwen-plus"));
    expect(status).toBe(200);
    expect(dashscope.generationRequests().at(-1)!.body.parameters).toMatchObject({ parallel_tool_calls: false, tool_choice: "auto" });
    expect(adjusted).toBe("");
  });

  it("DashScope's compatible mode: parallel_tool_calls false", async () => {
    const { status } = await post(messages("qwen-plus"), compatibleGw);
    expect(status).toBe(200);
    expect(qwenCompatible.chatRequests().at(-1)).toMatchObject({ parallel_tool_calls: false });
  });

  it("a disable_parallel_tool_use that is no boolean is the caller's 400, naming it", async () => {
    const { status, text } = await post(messages("gpt-4o-mini", { type: "auto", disable_parallel_tool_use: "yes" }));
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(text).toContain("tool_choice.disable_parallel_tool_use");
  });
});

describe("parallel_tool_calls on /v1/chat/completions, as before", () => {
  const tool: OpenAI.ChatCompletionTool = { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } };
  const ask = (model: string, parallel: boolean): OpenAI.ChatCompletionCreateParamsNonStreaming => ({ model, messages: [{ role: "user", content: "weather?" }], tools: [tool], parallel_tool_calls: parallel });

  it("goes to OpenAI as the caller wrote it, true or false", async () => {
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    for (const parallel of [false, true]) {
      await sdk.chat.completions.create(ask("gpt-4o-mini", parallel));
      expect(openai.chatRequests().at(-1)!.parallel_tool_calls).toBe(parallel);
    }
  });

  it("is said to Claude as disable_parallel_tool_use, and reported as dropped for Gemini", async () => {
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    await sdk.chat.completions.create(ask("claude-sonnet-4-5", false));
    expect(anthropic.messageRequests().at(-1)!.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    const { response } = await sdk.chat.completions.create(ask("gemini-2.5-flash", false)).withResponse();
    expect(response.headers.get("x-switchboard-adjusted")).toContain("parallel_tool_calls=dropped(gemini-2.5-flash has no switch");
  });
});

describe("parallel_tool_calls on /v1/chat/completions and /v1/responses, to a vendor of the OpenAI dialect with no such switch", () => {
  const tool: OpenAI.ChatCompletionTool = { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } };
  const sdk = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });

  it.each([false, true])("Chat Completions (stream %s): false is not sent to DeepSeek, and reported as dropped", async (stream) => {
    const { data, response } = await sdk()
      .chat.completions.create({ model: "deepseek-chat", messages: [{ role: "user", content: "weather?" }], tools: [tool], parallel_tool_calls: false, stream })
      .withResponse();
    expect(response.status).toBe(200);
    // A stream is read to its end, so that the vendor has been asked.
    if (Symbol.asyncIterator in data) for await (const _ of data);
    expect(deepseek.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(response.headers.get("x-switchboard-adjusted")).toContain("parallel_tool_calls=dropped(deepseek-chat has no switch for parallel function calls, and may call several at once)");
  });

  it("Chat Completions: true, what DeepSeek does anyway, is not sent either, without a word", async () => {
    const { response } = await sdk().chat.completions.create({ model: "deepseek-chat", messages: [{ role: "user", content: "weather?" }], tools: [tool], parallel_tool_calls: true }).withResponse();
    expect(deepseek.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(response.headers.get("x-switchboard-adjusted") ?? "").not.toContain("parallel_tool_calls");
  });

  it("Responses: false is not sent to DeepSeek, and reported as dropped", async () => {
    const { response } = await sdk()
      .responses.create({ model: "deepseek-chat", input: "weather?", tools: [{ type: "function", name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } }, strict: false }], parallel_tool_calls: false })
      .withResponse();
    expect(response.status).toBe(200);
    expect(deepseek.chatRequests().at(-1)).not.toHaveProperty("parallel_tool_calls");
    expect(response.headers.get("x-switchboard-adjusted")).toContain("parallel_tool_calls=dropped(deepseek-chat has no switch");
  });

  it.each(["moonshot-v1-8k", "kimi-k2-0905-preview"])("%s (Moonshot) is fitted alike", (model) => {
    const request = chatRequestFromOpenAI({ model, messages: [{ role: "user", content: "weather?" }], tools: [tool], parallel_tool_calls: false }).request;
    const fitted = fitChatRequest(request, Catalogue.shipped().lookup("moonshot", model, "openai"), "degrade", { model, dialect: "openai" });
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.params.vendorOptions?.parallel_tool_calls).toBeUndefined();
    expect(fitted.adjustments).toEqual([expect.objectContaining({ parameter: "parallel_tool_calls", kind: AdjustmentKind.DROPPED, requested: "false" })]);
  });
});
