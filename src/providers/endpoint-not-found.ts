import { excerpt } from "../common/excerpt.js";
import { presetBaseUrl, presetFor } from "../config/provider-presets.js";
import { UpstreamError } from "./upstream-error.js";

/** The request as it went out: its method, and its path below the base URL's origin (the base URL's own path included). */
export interface SentRequest {
  method: string;
  path: string;
  provider: string;
  dialect: string;
  credentialId?: string;
  status: number;
}

// A path segment that names an API version: /v1, /v2, /v1beta, /v4.
const VERSION_SEGMENT = /\/v\d+[a-z]*(?:\/|$)/i;

/**
 * A 404 that is not the vendor's own word on the model (kindForStatus): the
 * server has no such path, so the provider's base URL is wrong, most often
 * for a missing `/v1` (Ollama's and Open WebUI's OLLAMA_BASE_URL has none).
 * The message names the path called but not the host, which is operator
 * configuration and reaches callers here; nor the query, where a dialect may
 * put a key.
 */
export function endpointNotFound(sent: SentRequest): UpstreamError {
  const { provider } = sent;
  const path = excerpt(sent.path.split("?")[0]!);
  const setting = `${provider.toUpperCase()}_BASE_URL or providers.${provider}.base_url`;
  const preset = presetFor(provider);
  const byDefault = preset ? ` (the default for "${provider}" is ${presetBaseUrl(preset, sent.dialect)})` : "";
  const advice = VERSION_SEGMENT.test(path)
    ? `check ${setting}${byDefault}`
    : sent.dialect === "openai"
      ? `${setting} likely lacks /v1, under which OpenAI-compatible servers (Ollama, vLLM) serve their API${byDefault}`
      : `${setting} likely lacks the API's version path${byDefault}`;
  return new UpstreamError({
    kind: "endpoint_not_found",
    provider,
    credentialId: sent.credentialId,
    status: sent.status,
    message: `provider "${provider}" answered HTTP ${sent.status} to ${sent.method} ${path}, a path it does not serve: its base URL is likely wrong, not the model name. Operators: ${advice}`,
  });
}
