import type { JsonObject } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { reasonOf, restStatusOfReason, withErrorInfo } from "../../common/gateway-error.js";
import { ownEntry } from "../../common/own-entry.js";
import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { vendorError } from "../error-messages.js";
import { parseRetryAfter } from "../retry-after.js";
import { sdkRetryHeaders } from "../sdk-retry-headers.js";
import type { UpstreamError, UpstreamErrorKind } from "../upstream-error.js";

/** Reads `{"type":"error","error":{"type","message"}}`; the body of an HTTP error and of a mid-stream `event: error` alike. */
export function parseAnthropicError(text: string): { type: string; message: string } {
  try {
    const body = JSON.parse(text) as { error?: { type?: unknown; message?: unknown }; message?: unknown } | null;
    // A hostile vendor may send any type anywhere: only strings are read.
    const error = typeof body?.error === "object" && body.error !== null ? body.error : undefined;
    const type = typeof error?.type === "string" ? error.type : "";
    return { type, message: [error?.message, body?.message].find((value): value is string => typeof value === "string") ?? "" };
  } catch {
    // Not JSON (a proxy's HTML page): whole, since vendorError redacts before it cuts.
    return { type: "", message: text };
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

export function anthropicErrorKind(status: number | undefined, type: string, message: string): UpstreamErrorKind {
  if (status === 404) return "model_not_found";
  if (type === "invalid_request_error" && CREDIT_BALANCE_TOO_LOW.test(message)) return "quota_exhausted";
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

/** An HTTP error answer. */
export function anthropicHttpError(status: number, headers: ResponseHeaders, text: string, ctx: ErrorContext): UpstreamError {
  return anthropicError(ctx, text, { status, retryAfterMs: parseRetryAfter(headers) });
}

/** An `event: error` after the stream began (the HTTP status was already 200). */
export function anthropicStreamError(data: string, ctx: ErrorContext): UpstreamError {
  return anthropicError(ctx, data, {});
}

function anthropicError(ctx: ErrorContext, text: string, answer: { status?: number; retryAfterMs?: number }): UpstreamError {
  const { type, message } = parseAnthropicError(text);
  return vendorError({
    kind: anthropicErrorKind(answer.status, type, message),
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    status: answer.status,
    retryAfterMs: answer.retryAfterMs,
    vendorCode: type,
    vendorMessage: message,
  });
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
