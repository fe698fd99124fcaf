import type { Credential } from "../../secrets/credential.js";
import { describe, vendorError } from "../error-messages.js";
import { parseRetryAfter, type UpstreamResponse } from "../http-client.js";
import { kindForStatus } from "../status-kinds.js";
import type { UpstreamError } from "../upstream-error.js";

interface OpenAIErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null } | string;
  message?: string;
}

/** The `error` of a stream chunk. */
export interface OpenAIStreamErrorBody {
  message?: string;
  code?: string | number;
  type?: string;
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

export function openAIUpstreamError(
  provider: string,
  credential: Credential,
  res: Pick<UpstreamResponse, "status" | "headers">,
  text: string,
): UpstreamError {
  const { message, code } = parseOpenAIError(text);
  return vendorError({
    kind: kindForStatus(res.status, code, message),
    provider,
    credential,
    status: res.status,
    retryAfterMs: parseRetryAfter(res.headers),
    vendorCode: code,
    vendorMessage: message,
  });
}

/** A vendor error sent as a data event after the stream began (HTTP status already 200). */
export function openAIStreamError(provider: string, credential: Credential, error: OpenAIStreamErrorBody): UpstreamError {
  const { message, code } = parseOpenAIError(JSON.stringify({ error }));
  return vendorError({ kind: kindForStatus(/rate|429/.test(code) ? 429 : 503, code, message), provider, credential, vendorCode: code, vendorMessage: message });
}

// Moved to error-messages.ts so every dialect words errors alike; re-exported for existing importers.
export { describe };
