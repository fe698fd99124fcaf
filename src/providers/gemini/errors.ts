import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import { vendorError } from "../error-messages.js";
import { redactSecrets } from "../redact.js";
import { parseRetryAfter } from "../retry-after.js";
import { UpstreamError, type UpstreamErrorKind } from "../upstream-error.js";

interface GoogleErrorDetail {
  "@type"?: string;
  reason?: string;
  retryDelay?: string;
}

export interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: GoogleErrorDetail[];
}

/** Reads Google's `{error:{code,message,status,details}}`, also when wrapped in an array (the non-SSE stream form). */
export function parseGeminiError(text: string): GoogleError {
  try {
    const parsed = JSON.parse(text) as { error?: GoogleError } | { error?: GoogleError }[];
    const body = Array.isArray(parsed) ? parsed[0] : parsed;
    return body?.error ?? {};
  } catch {
    return { message: text.slice(0, 500) };
  }
}

export function geminiErrorKind(status: number, error: GoogleError): UpstreamErrorKind {
  const reasons = (error.details ?? []).map((detail) => detail.reason);
  // Google answers a bad API key with 400 INVALID_ARGUMENT: an operator's problem, not the caller's.
  if (reasons.includes("API_KEY_INVALID") || /api key not valid|api key expired/i.test(error.message ?? "")) return "credential_rejected";
  if (status === 401 || status === 403 || error.status === "UNAUTHENTICATED" || error.status === "PERMISSION_DENIED") return "credential_rejected";
  if (status === 404) return "model_not_found";
  // Google says "exceeded your current quota" for per-minute limits too, and sends a RetryInfo: all of it is retryable rate limiting.
  if (status === 429) return "rate_limited";
  if (status === 504 || status === 408) return "timeout";
  if (status >= 500) return "overloaded";
  return status >= 400 ? "bad_request" : "bad_response";
}

/** `google.rpc.RetryInfo.retryDelay` is a Duration in JSON form, e.g. "13s" or "0.5s". */
export function retryInfoDelayMs(error: GoogleError): number | undefined {
  const info = (error.details ?? []).find((detail) => detail["@type"]?.endsWith("google.rpc.RetryInfo"));
  const match = /^(\d+(?:\.\d+)?)s$/.exec(info?.retryDelay ?? "");
  return match ? Math.ceil(Number(match[1]) * 1000) : undefined;
}

/** An HTTP error answer. */
export function geminiHttpError(status: number, headers: ResponseHeaders, text: string, ctx: ErrorContext): UpstreamError {
  return fromGoogleError(ctx, status, parseGeminiError(text), parseRetryAfter(headers));
}

/** Also used for an error object sent inside a stream, which carries its HTTP code in `code`. */
export function fromGoogleError(ctx: ErrorContext, status: number, error: GoogleError, headerRetryMs?: number): UpstreamError {
  return vendorError({
    kind: geminiErrorKind(status, error),
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    status,
    // RetryInfo is Google's documented hint; a retry-after header is honoured when it is all there is.
    retryAfterMs: retryInfoDelayMs(error) ?? headerRetryMs,
    vendorCode: error.status,
    vendorMessage: error.message ?? "",
  });
}

export interface PromptFeedback {
  blockReason?: string;
  blockReasonMessage?: string;
}

/** An answer without a candidate: Gemini blocked the prompt (promptFeedback.blockReason), or answered nothing usable. */
export function noCandidate(feedback: PromptFeedback | undefined, ctx: ErrorContext): UpstreamError {
  const blocked = feedback?.blockReason;
  if (!blocked) return badResponse(ctx, "answered with no candidates");
  const why = feedback.blockReasonMessage;
  const detail = why ? `: ${redactSecrets(why, ctx.credential, ctx.alsoSecret)}` : "";
  return new UpstreamError({
    kind: "content_filtered",
    provider: ctx.provider,
    credentialId: ctx.credential.id,
    vendorCode: blocked,
    message: `provider "${ctx.provider}" blocked the prompt (${blocked})${detail}`,
  });
}
