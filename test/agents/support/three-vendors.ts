import type { ConfigFile } from "../../../src/config/schema.js";
import { anthropicError, startAnthropicFake, type AnthropicFake } from "../../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../../fakes/dashscope-fake.js";
import type { Scripted } from "../../fakes/fake-server.js";
import { startOpenAIFake, type OpenAIFake, type OpenAIFakeOptions } from "../../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../../support/key-pool-settings.js";

/** A model each vendor serves, as the agents' surfaces are tested with it: Anthropic's own, OpenAI's, and Qwen on DashScope's native API. */
export const SERVED = [
  { vendor: "anthropic", model: "claude-sonnet-4-5" },
  { vendor: "openai", model: "gpt-4o-mini" },
  { vendor: "dashscope", model: "qwen-plus" },
] as const;

export type Vendor = (typeof SERVED)[number]["vendor"];

/** A 1×1 PNG, for the image calls. */
export const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/** Each vendor's way of saying "too many requests, wait 3 s". */
export const RATE_LIMITED: Record<Vendor, Scripted> = {
  anthropic: anthropicError(429, "rate_limit_error", "Number of requests has exceeded your rate limit", { "retry-after": "3" }),
  openai: { kind: "error", status: 429, body: { error: { message: "Rate limit reached", type: "requests" } }, headers: { "retry-after": "3" } },
  dashscope: { kind: "error", status: 429, body: { code: "Throttling.RateQuota", message: "Requests rate limit exceeded", request_id: "r" }, headers: { "retry-after": "3" } },
};

/** Each vendor's way of saying it is overloaded. */
export const OVERLOADED: Record<Vendor, Scripted> = {
  anthropic: anthropicError(529, "overloaded_error", "Overloaded"),
  openai: { kind: "error", status: 503, body: { error: { message: "The engine is currently overloaded", type: "server_error" } } },
  dashscope: { kind: "error", status: 500, body: { code: "InternalError", message: "An internal error has occured", request_id: "r" } },
};

export interface ThreeVendors {
  anthropic: AnthropicFake;
  openai: OpenAIFake;
  dashscope: DashScopeFake;
  gw: TestGateway;
  /** The requests a vendor's fake received for chat, as JSON bodies. */
  chatRequests(vendor: Vendor): Record<string, any>[];
  /** Every request a vendor's fake received (headers included). */
  requests(vendor: Vendor): ThreeVendors["openai"]["requests"];
  stop(): Promise<void>;
}

/** The three fake vendors and a gateway in front of them; no vendor key is ever benched, so scripted failures each reach the vendor. */
export async function startThreeVendors(options: { file?: ConfigFile; openai?: Partial<OpenAIFakeOptions>; env?: Record<string, string> } = {}): Promise<ThreeVendors> {
  const anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor" });
  const openai = await startOpenAIFake({ apiKey: "sk-openai-vendor", ...options.openai });
  const dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-vendor" });
  const gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-vendor",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      OPENAI_API_KEY: "sk-openai-vendor",
      OPENAI_BASE_URL: openai.baseUrl,
      DASHSCOPE_API_KEY: "sk-dashscope-vendor",
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      ...options.env,
    },
    { key_pool: EVERY_CALL_REACHES_THE_VENDOR, ledger: { flush_interval_ms: 50 }, ...options.file },
  );
  const fakes = { anthropic, openai, dashscope };
  return {
    ...fakes,
    gw,
    chatRequests: (vendor) => (vendor === "anthropic" ? anthropic.messageRequests() : vendor === "openai" ? openai.chatRequests() : dashscope.generationRequests().map((r) => r.body)),
    requests: (vendor) => fakes[vendor].requests,
    async stop() {
      await gw.stop();
      await Promise.all([anthropic.close(), openai.close(), dashscope.close()]);
    },
  };
}
