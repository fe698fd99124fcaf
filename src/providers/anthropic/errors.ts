import type { JsonObject } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { REQUEST_TOO_LARGE, reasonOf, restStatusOfReason, withErrorInfo } from "../../common/gateway-error.js";
import { ownEntry } from "../../common/own-entry.js";
import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { vendorError } from "../error-messages.js";
import { OVER_LIMIT_ALONE, REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT } from "../over-limit-alone.js";
import { parseRetryAfter } from "../retry-after.js";
import { sdkRetryHeaders } from "../sdk-retry-headers.js";
import { kindOf404 } from "../status-kinds.js";
import type { UpstreamError, UpstreamErrorKind } from "../upstream-error.js";

/**
 * Reads `{"type":"error","error":{"type","message","details":{"error_code"}}}`;
 * the body of an HTTP error and of a mid-stream `event: error` alike.
 */
export function parseAnthropicError(text: string): { type: string; message: string; errorCode: string } {
  try {
    const body = JSON.parse(text) as { error?: { type?: unknown; message?: unknown; details?: { error_code?: unknown } | null }; message?: unknown } | null;
    // A hostile vendor may send any type anywhere: only strings are read.
    const error = typeof body?.error === "object" && body.error !== null ? body.error : undefined;
    const type = typeof error?.type === "string" ? error.type : "";
    const errorCode = typeof error?.details === "object" && typeof error.details?.error_code === "string" ? error.details.error_code : "";
    return { type, message: [error?.message, body?.message].find((value): value is string => typeof value === "string") ?? "", errorCode };
  } catch {
    // Not JSON (a proxy's HTML page): whole, since vendorError redacts before it cuts.
    return { type: "", message: text, errorCode: "" };
  }
}

/**
 * Anthropic's documented error types (../shared/reference/vendor-wire-formats.md §4,
 * Errors); they say more than the status (a stream error has none). Only
 * `authentication_error` (401, an invalid key) takes the key out of rotation:
 * `permission_error` (403) is "Your API key does not have permission to use the
 * specified resource", a resource the caller named (a model, a file, a beta).
 */
const KIND_FOR_TYPE: Record<string, UpstreamErrorKind> = {
  invalid_request_error: "bad_request",
  request_too_large: "bad_request",
  authentication_error: "credential_rejected",
  permission_error: "bad_request",
  billing_error: "quota_exhausted",
  not_found_error: "model_not_found",
  rate_limit_error: "rate_limited",
  api_error: "overloaded",
  overloaded_error: "overloaded",
  timeout_error: "timeout",
};

/**
 * An empty prepaid balance has no type of its own: a 400 invalid_request_error
 * "Your credit balance is too low to access the Anthropic API. Please go to
 * Plans & Billing…". Matched from the start and with no colon anywhere: the
 * errors that echo the caller's input read "<field>: <problem>" (an unknown
 * top-level field named like the sentence included) or name it after a prefix.
 */
const CREDIT_BALANCE_TOO_LOW = /^Your credit balance is too low\b[^:]*$/;

/**
 * A 429 rate_limit_error that is no rate limit: the organization crossed its
 * usage tier's monthly spend cap, and every request fails until the next
 * month (or a higher tier), with no `retry-after` (docs.claude.com/en/api/rate-limits,
 * "Spend limits": `error.details.error_code` "enforced_spend_limit_reached").
 */
const SPEND_CAP_REACHED = "enforced_spend_limit_reached";

export function anthropicErrorKind(status: number | undefined, type: string, message: string, errorCode = ""): UpstreamErrorKind {
  // Its own shape has an error type: without one, the 404 is some other server's (kindOf404).
  if (status === 404) return kindOf404({ vendorShaped: type !== "", message });
  if (type === "invalid_request_error" && CREDIT_BALANCE_TOO_LOW.test(message)) return "quota_exhausted";
  if (errorCode === SPEND_CAP_REACHED) return "quota_exhausted";
  const byType = ownEntry(KIND_FOR_TYPE, type);
  if (byType) return byType;
  if (status === undefined) return "overloaded";
  if (status === 401) return "credential_rejected";
  if (status === 402) return "quota_exhausted";
  if (status === 408 || status === 504) return "timeout";
  if (status === 429) return "rate_limited";
  if (status >= 500 || status === 409) return "overloaded";
  // A 403 without a type included: only the documented authentication_error says the key is bad.
  return status >= 400 ? "bad_request" : "bad_response";
}

/**
 * The per-minute token limit a 429 rate_limit_error names: "This request
 * would exceed the rate limit for your organization (…) of 30,000 input
 * tokens per minute", "This request would exceed your organization's rate
 * limit of 30,000 input tokens per minute (org: …, model: …)", "Number of
 * input tokens has exceeded the per-minute rate limit" (output tokens
 * alike; Anthropic's messages as its users have reported them, the fake's
 * overTokensPerMinute cites them). Read from the first 1,000 characters: the
 * sentence is short, and the pattern stays cheap on a hostile vendor's
 * megabyte.
 */
const TOKENS_PER_MINUTE = /\b(input|output) tokens (?:per minute\b|has exceeded (?:the|your) per-minute\b)/;

/**
 * Whether a 429 says the request alone is over a per-minute token limit of
 * the organization. Anthropic's sentence is the same whether the traffic so
 * far or the request alone is over the limit; its rate-limit headers tell
 * them apart. Limits are token buckets that refill continuously
 * (docs.claude.com/en/api/rate-limits), and each answer reports the bucket
 * its message names: `anthropic-ratelimit-input-tokens-limit` and
 * `-remaining` (output tokens alike; ../shared/reference/vendor-wire-formats.md
 * §4). A bucket reported full that still refuses the request means the
 * request asks for more than the organization may use in a minute: no wait
 * and no other key of the organization serves it. (`remaining` is rounded to
 * the nearest thousand: a request within 500 tokens of the limit may be told
 * so while a wait would have served it, and is close enough to the limit
 * that making it smaller is the advice anyway.)
 */
function overLimitAlone(status: number, type: string, message: string, headers: ResponseHeaders): boolean {
  if (status !== 429 || type !== "rate_limit_error") return false;
  const bucket = TOKENS_PER_MINUTE.exec(message.slice(0, 1_000))?.[1];
  if (bucket === undefined) return false;
  const limit = count(headers[`anthropic-ratelimit-${bucket}-tokens-limit`]);
  const remaining = count(headers[`anthropic-ratelimit-${bucket}-tokens-remaining`]);
  return limit !== undefined && remaining !== undefined && limit > 0 && remaining >= limit;
}

/** A header's whole number; undefined when absent, repeated or anything else. */
function count(value: string | string[] | undefined): number | undefined {
  return typeof value === "string" && /^\d{1,15}$/.test(value.trim()) ? Number(value) : undefined;
}

/** An HTTP error answer: a 429 honours the vendor's `retry-after`, unless the request alone is over the limit (a wait would not serve it). */
export function anthropicHttpError(status: number, headers: ResponseHeaders, text: string, ctx: ErrorContext): UpstreamError {
  const { type, message, errorCode } = parseAnthropicError(text);
  if (overLimitAlone(status, type, message, headers)) {
    return vendorError({
      kind: "bad_request",
      reason: REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT,
      ...who(ctx),
      status,
      vendorCode: type,
      vendorMessage: `${OVER_LIMIT_ALONE} (${message})`,
    });
  }
  // Too many bytes keeps its 413 for callers (the gateway's own reason for it): Claude Code strips media and retries on a 413 alone.
  const reason = status === 413 || type === "request_too_large" ? REQUEST_TOO_LARGE : undefined;
  return vendorError({ kind: anthropicErrorKind(status, type, message, errorCode), reason, ...who(ctx), status, retryAfterMs: parseRetryAfter(headers), vendorCode: type, vendorMessage: message });
}

/** An `event: error` after the stream began (the HTTP status was already 200). */
export function anthropicStreamError(data: string, ctx: ErrorContext): UpstreamError {
  const { type, message, errorCode } = parseAnthropicError(data);
  return vendorError({ kind: anthropicErrorKind(undefined, type, message, errorCode), ...who(ctx), vendorCode: type, vendorMessage: message });
}

/** Who answered, and the secrets its answer must not echo. */
function who(ctx: ErrorContext): { provider: string; credential: ErrorContext["credential"]; alsoSecret: ErrorContext["alsoSecret"] } {
  return { provider: ctx.provider, credential: ctx.credential, alsoSecret: ctx.alsoSecret };
}

/** A failure as callers of `/v1/messages` get it: the status Anthropic answers it with, and its error type. */
const ANSWER_FOR_CODE: Partial<Record<Code, { status: number; type: string }>> = {
  [Code.InvalidArgument]: { status: 400, type: "invalid_request_error" },
  [Code.FailedPrecondition]: { status: 400, type: "invalid_request_error" },
  [Code.OutOfRange]: { status: 400, type: "invalid_request_error" },
  [Code.Unimplemented]: { status: 400, type: "invalid_request_error" },
  [Code.Unauthenticated]: { status: 401, type: "authentication_error" },
  [Code.PermissionDenied]: { status: 403, type: "permission_error" },
  [Code.NotFound]: { status: 404, type: "not_found_error" },
  [Code.ResourceExhausted]: { status: 429, type: "rate_limit_error" },
  // No vendor can serve now: Anthropic's "overloaded", which its SDKs retry.
  [Code.Unavailable]: { status: 529, type: "overloaded_error" },
  [Code.DeadlineExceeded]: { status: 504, type: "timeout_error" },
  [Code.Canceled]: { status: 499, type: "api_error" },
};

export interface AnthropicErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: JsonObject;
}

/**
 * A failure in Anthropic's shape, `{"type":"error","error":{"type","message"}}`,
 * with the status its SDKs act on (they retry 408, 409, 429 and 5xx, 529
 * included) and the retry headers they honour. The body also names the
 * gateway's ErrorInfo reason (`error.reason`), which Anthropic's SDKs ignore.
 */
export function toAnthropicError(err: ConnectError): AnthropicErrorAnswer {
  const reason = reasonOf(withErrorInfo(err))!;
  const special = restStatusOfReason(reason);
  const answer = special
    ? { status: special, type: special === 413 ? "request_too_large" : "invalid_request_error" }
    : (ANSWER_FOR_CODE[err.code] ?? { status: 500, type: "api_error" });
  const headers = { "content-type": "application/json", ...sdkRetryHeaders(err, answer.status) };
  return { status: answer.status, headers, body: anthropicErrorBody(answer.type, err.rawMessage, reason) };
}

function anthropicErrorBody(type: string, message: string, reason: string): JsonObject {
  return { type: "error", error: { type, message, reason: reason.toLowerCase() } };
}
