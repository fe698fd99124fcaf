import type { ProviderConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { AnthropicAdapter } from "./anthropic/adapter.js";
import { DashScopeAdapter } from "./dashscope/adapter.js";
import { GeminiAdapter } from "./gemini/adapter.js";
import { OpenAICompatibleAdapter } from "./openai/adapter.js";
import type { ProviderAdapter } from "./provider.js";
import { QianfanV1Adapter } from "./qianfan-v1/adapter.js";

type AdapterFactory = (config: ProviderConfig) => ProviderAdapter;

/** Wire dialects by name: one adapter per dialect, configured per provider. */
const DIALECTS: Record<string, AdapterFactory> = {
  openai: (config) =>
    new OpenAICompatibleAdapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers, maxTokensField: config.maxTokensField }),
  "qianfan-v1": (config) => new QianfanV1Adapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers }),
  dashscope: (config) => new DashScopeAdapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers }),
  anthropic: (config) =>
    new AnthropicAdapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers, defaultMaxTokens: config.defaultMaxTokens }),
  gemini: (config) => new GeminiAdapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers }),
};

export function createAdapter(config: ProviderConfig): ProviderAdapter {
  const factory = DIALECTS[config.dialect];
  if (!factory) {
    throw new ConfigError("config", `providers.${config.name}.dialect`, `unknown dialect "${config.dialect}" (known: ${Object.keys(DIALECTS).join(", ")})`);
  }
  return factory(config);
}
