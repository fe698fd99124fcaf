// Errors in the OpenAI shape, both ways: read from vendors that speak the
// dialect, and written for callers of the REST surface in the form the
// OpenAI SDKs parse (status, body and the headers they act on).
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import { reasonOf, restStatusOfReason, withErrorInfo } from "../../common/gateway-error.js";
import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { vendorError } from "../error-messages.js";
import { OVER_LIMIT_ALONE, REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT } from "../over-limit-alone.js";
import { parseRetryAfter } from "../retry-after.js";
import { sdkRetryHeaders } from "../sdk-retry-headers.js";
import { kindForStatus } from "../status-kinds.js";
import { UpstreamError, type UpstreamErrorKind } from "../upstream-error.js";
import { ownEntry } from "../../common/own-entry.js";

interface OpenAIErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null; param?: string | null } | string;
  message?: string;
}

/** The `error` of a stream chunk. */
export interface OpenAIStreamErrorBody {
  message?: string;
  code?: string | number;
  type?: string;
  param?: string | null;
}

/**
 * Reads `{error:{message,type,param,code}}` (and the looser shapes some compatible vendors send).
 * `vendorShaped`: the body has the dialect's `error` (a top-level `message` alone is any web server's).
 */
export function parseOpenAIError(text: string): { message: string; code: string; param?: string; vendorShaped: boolean } {
  try {
    const body = JSON.parse(text) as OpenAIErrorBody | null;
    if (typeof body?.error === "string") return { message: body.error, code: "", vendorShaped: true };
    // A hostile vendor may send any type anywhere: only strings are words, only strings and numbers codes.
    const error = typeof body?.error === "object" && body.error !== null ? body.error : undefined;
    const message = [error?.message, body?.message].find((value) => typeof value === "string") ?? "";
    const code = [error?.code, error?.type].find((value) => typeof value === "string" || (typeof value === "number" && Number.isFinite(value)));
    const param = typeof error?.param === "string" ? error.param : undefined;
    return { message, code: code === undefined ? "" : String(code), param, vendorShaped: error !== undefined };
  } catch {
    // Not JSON (a proxy's HTML page): whole, since vendorError redacts before it cuts.
    return { message: text, code: "", vendorShaped: false };
  }
}

/**
 * Moonshot's error types that say more than the status
 * (https://platform.moonshot.cn/docs/api/chat, error codes): `engine_overloaded_error`
 * comes as a 429, but it is the vendor that is busy, not the key over its limit;
 * `exceeded_current_quota_error` (403 or 429) is the account's balance.
 * The other vendors' codes are in kindForStatus.
 */
const KIND_FOR_CODE: Record<string, UpstreamErrorKind> = { engine_overloaded_error: "overloaded", exceeded_current_quota_error: "quota_exhausted" };

/**
 * OpenAI's 429 for a request that alone is over a per-minute limit of the
 * organization: "Request too large for gpt-4o in organization org-… on tokens
 * per min (TPM): Limit 30000, Requested 36278. The input or output tokens must
 * be reduced in order to run successfully." (type "tokens", code
 * "rate_limit_exceeded"). Unlike "Rate limit reached for … Limit 30000, Used
 * 29937, Requested 385. Please try again in 644ms.", no wait and no other key
 * of the organization serves it: the request is the trouble, not the key, so
 * it is the caller's error and benches no key. Read from the vendor's own
 * sentence, from its start, and only when what it requested is over the limit.
 */
const TOO_LARGE_ALONE = /^Request too large for .* on [^:]+: Limit (\d+), Requested (\d+)\./;

function overLimitAlone(status: number, message: string): boolean {
  // The sentence is short: looking at its first 1,000 characters keeps the pattern cheap on a hostile vendor's megabyte.
  const numbers = status === 429 ? TOO_LARGE_ALONE.exec(message.slice(0, 1_000)) : null;
  return numbers !== null && Number(numbers[2]) > Number(numbers[1]);
}

/** A vendor's HTTP error answer. */
export function fromOpenAIHttpError(status: number, headers: ResponseHeaders, text: string, ctx: ErrorContext): UpstreamError {
  const { message, code, param, vendorShaped } = parseOpenAIError(text);
  const tooLarge = overLimitAlone(status, message);
  return vendorError({
    kind: tooLarge ? "bad_request" : (ownEntry(KIND_FOR_CODE, code) ?? kindForStatus(status, code, { vendorShaped, message })),
    reason: tooLarge ? REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT : undefined,
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    status,
    // The vendor's retry-after (an hour, when it gave one) would only have the caller send it again.
    retryAfterMs: tooLarge ? undefined : parseRetryAfter(headers),
    vendorCode: code,
    vendorParam: param,
    vendorMessage: tooLarge ? `${OVER_LIMIT_ALONE} (${message})` : message,
  });
}

/**
 * An error in the body of a successful answer (`{"error":{"code":"insufficient_quota",…}}`
 * with HTTP 200, as some compatible servers and proxies answer): classified
 * as the same error would be with its proper status (statusOfError), the
 * vendor's message kept (redacted, cut). Undefined for a body that is an
 * answer: one with choices (chat) or data (embeddings, models), or whose
 * `error` is null.
 */
export function openAIBodyError(body: unknown, _status: number, ctx: ErrorContext): UpstreamError | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const answer = body as { error?: unknown; choices?: unknown; data?: unknown };
  if (answer.error === undefined || answer.error === null || answer.error === false || answer.error === "") return undefined;
  if ((Array.isArray(answer.choices) && answer.choices.length > 0) || Array.isArray(answer.data)) return undefined;
  return openAIStreamError(ctx, answer.error as OpenAIStreamErrorBody);
}

/**
 * The HTTP status an error sent without one (in a 200 body, or in a stream)
 * would have had: the one it names (`status`, or a numeric `code` such as
 * 429), else the one its OpenAI type goes with, else 429 for anything about
 * rates and 503 for the rest.
 */
const STATUS_FOR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  insufficient_quota: 429,
  server_error: 500,
  api_error: 500,
  overloaded_error: 529,
};

function statusOfError(error: unknown, code: string): number {
  const fields = typeof error === "object" && error !== null ? (error as { status?: unknown; code?: unknown; type?: unknown }) : {};
  for (const named of [fields.status, fields.code]) {
    const status = typeof named === "number" ? named : typeof named === "string" && /^\d{3}$/.test(named) ? Number(named) : undefined;
    if (status !== undefined && status >= 400 && status <= 599) return status;
  }
  for (const name of [code, fields.type]) {
    const status = typeof name === "string" ? ownEntry(STATUS_FOR_TYPE, name) : undefined;
    if (status !== undefined) return status;
  }
  return /rate|429/.test(code) ? 429 : 503;
}

/** A vendor error sent as a data event after the stream began (HTTP status already 200). */
export function openAIStreamError(ctx: ErrorContext, error: OpenAIStreamErrorBody): UpstreamError {
  const { message, code, param } = parseOpenAIError(JSON.stringify({ error }));
  const status = statusOfError(error, code);
  const tooLarge = overLimitAlone(status, message);
  return vendorError({
    kind: tooLarge ? "bad_request" : (ownEntry(KIND_FOR_CODE, code) ?? kindForStatus(status, code)),
    reason: tooLarge ? REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT : undefined,
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    vendorCode: code,
    vendorParam: param,
    vendorMessage: tooLarge ? `${OVER_LIMIT_ALONE} (${message})` : message,
  });
}

const ERROR_TYPES: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "invalid_request_error",
  [Code.NotFound]: "invalid_request_error",
  // The caller asked for what the thing's state does not allow (a response that is not a background one cancelled): a 400, not the 5xx type.
  [Code.FailedPrecondition]: "invalid_request_error",
  [Code.Unauthenticated]: "authentication_error",
  [Code.PermissionDenied]: "permission_error",
  [Code.ResourceExhausted]: "rate_limit_error",
  [Code.Unimplemented]: "invalid_request_error",
};

export interface OpenAIError {
  status: number;
  headers: Record<string, string>;
  body: JsonObject;
}

/**
 * A failure as the OpenAI SDKs read it: the status, `{error:{message, type,
 * param, code}}` with the ErrorInfo reason as `code` (the vendor's own, vendorsOwnCode, where it has one) and the first
 * BadRequest field as `param` (else the field a vendor's refusal named), and the retry headers both SDKs honour:
 * `retry-after-ms` and `retry-after` when the delay is known, and
 * `x-should-retry: false` when their automatic retries would only waste time.
 * (`x-request-id` is set on every answer by the handler.)
 */
export function toOpenAIError(err: ConnectError): OpenAIError {
  const reason = reasonOf(withErrorInfo(err))!;
  const special = restStatusOfReason(reason);
  const status = special ?? codeToHttpStatus(err.code);
  const type = special ? "invalid_request_error" : (ERROR_TYPES[err.code] ?? "api_error");
  const param = err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field ?? err.findDetails(ErrorInfoSchema)[0]?.metadata.upstream_param ?? null;
  const headers = { "content-type": "application/json", ...sdkRetryHeaders(err, status) };
  return { status, headers, body: { error: { message: err.rawMessage, type, param, code: vendorsOwnCode(err) ?? reason.toLowerCase() } } };
}

/** An OpenAI-style code: lower-case words (`context_length_exceeded`), not an error type (`invalid_request_error`) nor another dialect's (`INVALID_ARGUMENT`, `336003`). */
const OPENAI_CODE = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The vendor's own code for a request it refused (`context_length_exceeded`,
 * `content_policy_violation`), which clients branch on: kept when the
 * refusal is the request's (bad_request, content_filtered), the gateway has
 * no more precise reason of its own, and the code reads as OpenAI's. Already
 * redacted and checked (safeVendorCode). Otherwise undefined: a refused key
 * or quota is the gateway's account, not the caller's, and keeps the
 * gateway's reason.
 */
function vendorsOwnCode(err: ConnectError): string | undefined {
  const cause = err.cause;
  if (!(cause instanceof UpstreamError) || cause.reason !== undefined || cause.vendorCode === undefined) return undefined;
  if (cause.kind !== "bad_request" && cause.kind !== "content_filtered") return undefined;
  return OPENAI_CODE.test(cause.vendorCode) && !cause.vendorCode.endsWith("_error") ? cause.vendorCode : undefined;
}
