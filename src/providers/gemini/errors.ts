import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import { safeVendorCode, safeVendorMessage, vendorError } from "../error-messages.js";
import { capRetryAfter, parseRetryAfter } from "../retry-after.js";
import { kindOf404 } from "../status-kinds.js";
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
    // Not JSON (a proxy's HTML page): whole, since vendorError redacts before it cuts.
    return { message: text };
  }
}

/**
 * `google.rpc.ErrorInfo` reasons (google.api.ErrorReason) that say the key or its
 * project is refused, whatever was asked: the only ones that take a key out of
 * rotation. The reference documents API_KEY_INVALID (a 400,
 * ../shared/reference/vendor-wire-formats.md §5, Errors); the others are its
 * siblings in the same enum. A 403 PERMISSION_DENIED without one refuses the
 * key's project what was asked for, not the key (CALLERS_RESOURCE_REFUSED).
 */
const KEY_REFUSED = new Set([
  "API_KEY_INVALID",
  "API_KEY_SERVICE_BLOCKED",
  "API_KEY_HTTP_REFERRER_BLOCKED",
  "API_KEY_IP_ADDRESS_BLOCKED",
  "API_KEY_ANDROID_APP_BLOCKED",
  "API_KEY_IOS_APP_BLOCKED",
  "SERVICE_DISABLED",
  "CONSUMER_SUSPENDED",
  "CONSUMER_INVALID",
]);

/**
 * Google's own sentences for a refused key that may come without an ErrorInfo
 * ("API key not valid. Please pass a valid API key.", "API key expired…", "Your
 * API key was reported as leaked…", and a 403 PERMISSION_DENIED "Method doesn't
 * allow unregistered callers…" to a call sent without a key): matched from the
 * start, where no caller input appears (a model or resource name comes after a prefix).
 */
const KEY_REFUSED_MESSAGE = /^(API key not valid|API key expired|Your API key was reported as leaked|Method doesn't allow unregistered callers)\b/i;

/**
 * Google's 403 PERMISSION_DENIED is "your API key doesn't have the required permissions" (a wrong key, a tuned
 * model without access to it: ai.google.dev/gemini-api/docs/troubleshooting, the reference's §5 Errors): the
 * key's project is refused a model or API, an operator's problem where another key's project or another
 * candidate may serve. Not so Google's sentences about a resource the caller named itself, a cachedContent or a
 * file: the caller's (matched from the start, where no caller input appears).
 */
const CALLERS_RESOURCE_REFUSED = /^(CachedContent not found|You do not have permission to access the File)\b/i;

export function geminiErrorKind(status: number, error: GoogleError): UpstreamErrorKind {
  const reasons = (error.details ?? []).map((detail) => detail.reason ?? "");
  if (reasons.some((reason) => KEY_REFUSED.has(reason)) || KEY_REFUSED_MESSAGE.test(error.message ?? "")) return "credential_rejected";
  if (reasons.includes("BILLING_DISABLED")) return "quota_exhausted";
  // The account's standing, not the request's: Google answers 400 FAILED_PRECONDITION when "the free tier is not
  // available in your country" and the project has no billing (ai.google.dev/gemini-api/docs/troubleshooting, the
  // reference's §5 Errors). Another key (a billed project) or candidate may serve, as for BILLING_DISABLED.
  if (error.status === "FAILED_PRECONDITION") return "quota_exhausted";
  // Google's error object has its code or status: a 404 without one is some other server's (kindOf404).
  if (status === 404) return kindOf404({ vendorShaped: error.code !== undefined || error.status !== undefined, message: error.message ?? "" });
  if (status === 401 || error.status === "UNAUTHENTICATED") return "credential_rejected";
  // Google says "exceeded your current quota" for per-minute limits too, and sends a RetryInfo: all of it is retryable rate limiting.
  if (status === 429) return "rate_limited";
  if (status === 504 || status === 408) return "timeout";
  if (status >= 500) return "overloaded";
  if ((status === 403 || error.status === "PERMISSION_DENIED") && !CALLERS_RESOURCE_REFUSED.test(error.message ?? "")) return "account_refused";
  return status >= 400 ? "bad_request" : "bad_response";
}

/** `google.rpc.RetryInfo.retryDelay` is a Duration in JSON form, e.g. "13s" or "0.5s". */
export function retryInfoDelayMs(error: GoogleError): number | undefined {
  const info = (error.details ?? []).find((detail) => detail["@type"]?.endsWith("google.rpc.RetryInfo"));
  const match = /^(\d+(?:\.\d+)?)s$/.exec(info?.retryDelay ?? "");
  return match ? capRetryAfter(Math.ceil(Number(match[1]) * 1000)) : undefined;
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
  if (!feedback?.blockReason) return badResponse(ctx, "answered with no candidates");
  const blocked = safeVendorCode(feedback.blockReason, ctx.credential, ctx.alsoSecret);
  const why = feedback.blockReasonMessage;
  const detail = why ? `: ${safeVendorMessage(why, ctx.credential, ctx.alsoSecret)}` : "";
  return new UpstreamError({
    kind: "content_filtered",
    provider: ctx.provider,
    credentialId: ctx.credential.id,
    vendorCode: blocked,
    message: `provider "${ctx.provider}" blocked the prompt${blocked ? ` (${blocked})` : ""}${detail}`,
  });
}
