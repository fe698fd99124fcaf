import type { ProviderConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { OpenAICompatibleAdapter } from "./openai/adapter.js";
import type { ProviderAdapter } from "./provider.js";

type AdapterFactory = (config: ProviderConfig) => ProviderAdapter;

/** Wire dialects by name: one adapter per dialect, configured per provider. */
const DIALECTS: Record<string, AdapterFactory> = {
  openai: (config) =>
    new OpenAICompatibleAdapter({ name: config.name, baseUrl: config.baseUrl, headers: config.headers, maxTokensField: config.maxTokensField }),
};

export function createAdapter(config: ProviderConfig): ProviderAdapter {
  const factory = DIALECTS[config.dialect];
  if (!factory) {
    throw new ConfigError("config", `providers.${config.name}.dialect`, `unknown dialect "${config.dialect}" (known: ${Object.keys(DIALECTS).join(", ")})`);
  }
  return factory(config);
}
