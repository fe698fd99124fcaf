// Failures in the shape the OpenAI SDKs parse: status, body and the headers they act on.
import type { JsonObject } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema, RetryInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import { reasonOf, withErrorInfo } from "../../common/gateway-error.js";

const ERROR_TYPES: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "invalid_request_error",
  [Code.NotFound]: "invalid_request_error",
  [Code.Unauthenticated]: "authentication_error",
  [Code.PermissionDenied]: "permission_error",
  [Code.ResourceExhausted]: "rate_limit_error",
  [Code.Unimplemented]: "invalid_request_error",
};

/**
 * An oversized body: ResourceExhausted in Connect terms, but here a 413 and an
 * invalid_request_error, since the SDKs retry a 429 or a rate_limit_error.
 */
export const REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE";

/** openai-node and openai-python wait out a `retry-after` only up to a minute; a longer one, they retry early. */
const SDK_RETRY_HORIZON_MS = 60_000;

/** Failures whose status (429, 503) makes the SDKs retry, where a retry within seconds cannot succeed. */
const NO_QUICK_RECOVERY = new Set(["BUDGET_EXHAUSTED", "UPSTREAM_QUOTA_EXHAUSTED"]);

export interface OpenAIError {
  status: number;
  headers: Record<string, string>;
  body: JsonObject;
}

/**
 * A failure as the OpenAI SDKs read it: the status, `{error:{message, type,
 * param, code}}` with the ErrorInfo reason as `code` and the first
 * BadRequest field as `param`, and the retry headers both SDKs honour:
 * `retry-after-ms` and `retry-after` when the delay is known, and
 * `x-should-retry: false` when their automatic retries would only waste time.
 * (`x-request-id` is set on every answer by the handler.)
 */
export function openAIError(err: ConnectError): OpenAIError {
  const reason = reasonOf(withErrorInfo(err))!;
  const status = reason === REQUEST_TOO_LARGE ? 413 : codeToHttpStatus(err.code);
  const type = reason === REQUEST_TOO_LARGE ? "invalid_request_error" : (ERROR_TYPES[err.code] ?? "api_error");
  const param = err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field ?? null;
  const headers: Record<string, string> = { "content-type": "application/json" };
  const retryDelay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const retryAfterMs = retryDelay ? durationMs(retryDelay) : undefined;
  if (retryAfterMs !== undefined) {
    headers["retry-after-ms"] = String(Math.max(0, Math.round(retryAfterMs)));
    headers["retry-after"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  const noQuickRecovery =
    NO_QUICK_RECOVERY.has(reason) ||
    (retryAfterMs !== undefined && retryAfterMs > SDK_RETRY_HORIZON_MS) ||
    // Every vendor key rejected and none due for a probe: an operator has to act.
    (reason === "UPSTREAM_CREDENTIAL_REJECTED" && retryAfterMs === undefined);
  if (noQuickRecovery && sdkRetries(status)) headers["x-should-retry"] = "false";
  return { status, headers, body: { error: { message: err.rawMessage, type, param, code: reason.toLowerCase() } } };
}

/** The statuses both SDKs retry on their own. */
function sdkRetries(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
