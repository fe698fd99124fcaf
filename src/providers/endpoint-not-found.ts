import { excerpt } from "../common/excerpt.js";
import { presetBaseUrl, presetFor } from "../config/provider-presets.js";
import type { ErrorContext } from "./codec.js";
import { redactSecrets } from "./redact.js";
import { UpstreamError } from "./upstream-error.js";

/** The request as it went out. */
export interface SentRequest {
  method: string;
  /** The API's path as the dialect asked for it ("/chat/completions"), below the base URL. */
  apiPath: string;
  /** The base URL's own path, which the request's followed: operator configuration, for the log line only. */
  basePath: string;
  dialect: string;
  /** The attempt's provider, credential and secrets (the log line's path is redacted of them). */
  ctx: ErrorContext;
  status: number;
}

// A path segment that names an API version: /v1, /v2, /v1beta, /v4.
const VERSION_SEGMENT = /\/v\d+[a-z]*(?:\/|$)/i;

/**
 * A 404 that is not the vendor's own word on the model (kindForStatus): the
 * server has no such path, so the provider's base URL is wrong, most often
 * for a missing `/v1` (Ollama's and Open WebUI's OLLAMA_BASE_URL has none).
 * The message reaches callers: it names the API path the dialect asked for,
 * the provider and the setting, but nothing of the base URL, which is operator
 * configuration (its path may hold an account id or a proxy's token, as
 * Cloudflare AI Gateway's /v1/<account>/<gateway>/openai does). The full path
 * under the base URL goes to the operator's log line only (logDetail),
 * secrets redacted. Neither has the query, where a dialect may put a key.
 */
export function endpointNotFound(sent: SentRequest): UpstreamError {
  const { provider, credential, alsoSecret } = sent.ctx;
  const apiPath = sent.apiPath.split("?")[0]!;
  const path = sent.basePath + apiPath;
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
    credentialId: credential.id,
    status: sent.status,
    message: `provider "${provider}" answered HTTP ${sent.status} to ${sent.method} ${excerpt(apiPath)}, a path it does not serve: its base URL is likely wrong, not the model name. Operators: ${advice}`,
    logDetail: `${sent.method} ${excerpt(redactSecrets(path, credential, alsoSecret))}`,
  });
}
