import type { Credential } from "../../secrets/credential.js";
import { parseRetryAfter, type UpstreamResponse } from "../http-client.js";
import { redactSecrets } from "../redact.js";
import { UpstreamError, type UpstreamErrorKind } from "../upstream-error.js";
import { describe } from "../error-messages.js";

interface OpenAIErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null } | string;
  message?: string;
}

/** Reads `{error:{message,type,code}}` (and the looser shapes some compatible vendors send). */
export function parseOpenAIError(text: string): { message: string; code: string } {
  try {
    const body = JSON.parse(text) as OpenAIErrorBody;
    if (typeof body.error === "string") return { message: body.error, code: "" };
    const message = body.error?.message ?? body.message ?? "";
    const code = String(body.error?.code ?? body.error?.type ?? "");
    return { message, code };
  } catch {
    return { message: text.slice(0, 500), code: "" };
  }
}

/** Maps an HTTP error status and the vendor's error code to a kind a caller can act on. */
export function kindForStatus(status: number, code: string, message: string): UpstreamErrorKind {
  const text = `${code} ${message}`.toLowerCase();
  if (/content[_ ]?filter|unsafe|sensitive|safety/.test(text) && status < 500) return "content_filtered";
  if (/insufficient_quota|quota|balance|arrear|billing/.test(text) && status !== 401) return "quota_exhausted";
  if (status === 401 || status === 403) return "credential_rejected";
  if (status === 402) return "quota_exhausted";
  if (status === 404) return "model_not_found";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 409 || status >= 500) return "overloaded";
  if (status >= 400) return "bad_request";
  return "bad_response";
}

export function openAIUpstreamError(
  provider: string,
  credential: Credential,
  res: Pick<UpstreamResponse, "status" | "headers">,
  text: string,
): UpstreamError {
  const { message, code } = parseOpenAIError(text);
  const kind = kindForStatus(res.status, code, message);
  return new UpstreamError({
    kind,
    provider,
    credentialId: credential.id,
    status: res.status,
    retryAfterMs: parseRetryAfter(res.headers),
    vendorCode: code || undefined,
    message: describe(kind, provider, credential, res.status, redactSecrets(message, credential)),
  });
}

// Moved to error-messages.ts so every dialect words errors alike; re-exported for existing importers.
export { describe };
