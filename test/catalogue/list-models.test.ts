// ListModels and GET /v1/models describe every model the catalogue knows of
// each configured provider: capabilities, limits, prices, reasoning, source.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Capability } from "../../gen/ts/switchboard/v1/models_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let dashscope: DashScopeFake;
let gw: TestGateway;
const catalogue = Catalogue.shipped();

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai" });
  anthropic = await startAnthropicFake({ apiKey: "sk-anthropic" });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope" });
  gw = await startGateway({
    OPENAI_API_KEY: "sk-openai",
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_API_KEY: "sk-anthropic",
    ANTHROPIC_BASE_URL: anthropic.baseUrl,
    DASHSCOPE_API_KEY: "sk-dashscope",
    DASHSCOPE_BASE_URL: dashscope.baseUrl,
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai, anthropic, dashscope].map((fake) => fake?.close()));
});

describe("ListModels", () => {
  it("shows every default model of each configured provider with its limits, capabilities, price and source", async () => {
    const listed = (await gw.client("grpc").listModels({})).models;
    for (const provider of ["openai", "anthropic", "dashscope"]) {
      for (const entry of catalogue.models(provider)) {
        const model = listed.find((m) => m.provider === provider && m.upstreamModel === entry.model);
        expect(model, `${provider}/${entry.model}`).toBeDefined();
        expect(model!.limits?.contextWindow, entry.model).toBe(entry.facts.contextWindow);
        if (entry.facts.kind === "chat") {
          expect(model!.limits?.maxOutputTokens, entry.model).toBeGreaterThan(0);
          expect(model!.capabilities, entry.model).toEqual(expect.arrayContaining([Capability.CHAT, Capability.STREAMING]));
        } else {
          expect(model!.capabilities, entry.model).toEqual([Capability.EMBEDDINGS]);
          expect(model!.limits?.embeddingDimensions, entry.model).toBeGreaterThan(0);
        }
        if (entry.facts.price) expect(model!.pricing?.input?.currencyCode, entry.model).toBe(entry.facts.price.currency);
        expect(model!.source?.url, entry.model).toBe(entry.source.url);
      }
    }
  });

  it("says what a model can do and costs, in detail", async () => {
    const listed = (await gw.client().listModels({ provider: "anthropic" })).models;
    const sonnet = listed.find((m) => m.id === "claude-sonnet-4-5")!;
    expect(sonnet.capabilities).toEqual([
      Capability.CHAT,
      Capability.STREAMING,
      Capability.TOOLS,
      Capability.JSON_MODE,
      Capability.JSON_SCHEMA,
      Capability.PARALLEL_TOOL_CALLS,
      Capability.IMAGE_INPUT,
      Capability.REASONING,
    ]);
    // 1M tokens with Anthropic's context-1m beta.
    expect(sonnet.limits).toMatchObject({ contextWindow: 1_000_000, maxOutputTokens: 64_000 });
    expect(sonnet.pricing).toMatchObject({ input: { currencyCode: "USD", units: 3n, nanos: 0 }, cachedInput: { units: 0n, nanos: 300_000_000 }, output: { units: 15n } });
    expect(sonnet.reasoning).toMatchObject({ always: false, minBudgetTokens: 1024, returnsText: true });
    const o3 = (await gw.client().listModels({ provider: "openai" })).models.find((m) => m.id === "o3")!;
    expect(o3.reasoning).toMatchObject({ always: true, efforts: [ReasoningEffort.LOW, ReasoningEffort.MEDIUM, ReasoningEffort.HIGH], returnsText: false });
    // DashScope's native API has no model list: its models come from the catalogue.
    const qwen = (await gw.client().listModels({ provider: "dashscope" })).models.find((m) => m.id === "qwen-plus")!;
    expect(qwen).toMatchObject({ discovered: false, pricing: { input: { currencyCode: "CNY", units: 0n, nanos: 800_000_000 } } });
  });

  it("on REST, with the same facts as extra fields of OpenAI's model object", async () => {
    const res = await fetch(`${gw.url}/v1/models/gpt-4o-mini`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(await res.json()).toEqual({
      id: "gpt-4o-mini",
      object: "model",
      created: 0,
      owned_by: "openai",
      capabilities: ["chat", "streaming", "tools", "json_mode", "json_schema", "parallel_tool_calls", "image_input"],
      context_window: 128_000,
      max_output_tokens: 16_384,
      pricing: { currency: "USD", input: 0.15, cached_input: 0.075, output: 0.6, reasoning: 0.6, cache_write: 0.15, cache_write_1h: 0.15 },
      source: { url: "https://platform.openai.com/docs/models/gpt-4o-mini", checked: "2026-11" },
    });
  });
});
