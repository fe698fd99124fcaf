import type { ProviderConfig } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { ConfigError } from "../config/config-error.js";
import { createAnthropicCodec } from "./anthropic/codec.js";
import { createDashScopeCodec } from "./dashscope/codec.js";
import { createGeminiCodec } from "./gemini/codec.js";
import { DialectAdapter, type VendorEndpoint } from "./dialect-adapter.js";
import { createOpenAICodec } from "./openai/codec.js";
import type { ProviderAdapter } from "./provider.js";
import { alwaysBearerAuth, bearerAuth, headerAuth } from "./vendor-auth.js";
import { createQianfanV1Adapter } from "./qianfan-v1/create-adapter.js";

type AdapterFactory = (config: ProviderConfig, logger?: Logger) => ProviderAdapter;

/** Wire dialects by name: one adapter per dialect, configured per provider. */
const DIALECTS: Record<string, AdapterFactory> = {
  openai: (config, logger) => new DialectAdapter(endpoint(config, logger), createOpenAICodec({ maxTokensField: config.maxTokensField }), bearerAuth),
  "qianfan-v1": (config) => createQianfanV1Adapter(endpoint(config)),
  dashscope: (config, logger) => new DialectAdapter(endpoint(config, logger), createDashScopeCodec({ provider: config.name }), alwaysBearerAuth),
  anthropic: (config, logger) =>
    new DialectAdapter(endpoint(config, logger), createAnthropicCodec({ provider: config.name, defaultMaxTokens: config.defaultMaxTokens, automaticPromptCaching: config.automaticPromptCaching }), headerAuth("x-api-key")),
  // The key in its header, not `?key=`, so it stays out of URLs that proxies and logs record.
  gemini: (config, logger) => new DialectAdapter(endpoint(config, logger), createGeminiCodec({ provider: config.name }), headerAuth("x-goog-api-key")),
};

function endpoint(config: ProviderConfig, logger?: Logger): VendorEndpoint {
  return { name: config.name, baseUrl: config.baseUrl, headers: config.headers, logger };
}

/** The provider's adapter; `logger` is told what vendor quirks it gets past. */
export function createAdapter(config: ProviderConfig, logger?: Logger): ProviderAdapter {
  const factory = DIALECTS[config.dialect];
  if (!factory) {
    throw new ConfigError("config", `providers.${config.name}.dialect`, `unknown dialect "${config.dialect}" (known: ${Object.keys(DIALECTS).join(", ")})`);
  }
  return factory(config, logger);
}
