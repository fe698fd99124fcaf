import { durationMs } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { reasonOf, withErrorInfo } from "../common/gateway-error.js";

/** The OpenAI and Anthropic SDKs wait out a `retry-after` only up to a minute; a longer one, they retry early. */
const SDK_RETRY_HORIZON_MS = 60_000;

/**
 * Failures whose status (429, 501, 503) makes the SDKs retry, where a retry within seconds cannot succeed.
 * RESPONSES_STORAGE_FULL clears only when the key deletes stored responses or they expire;
 * UPSTREAM_ENDPOINT_NOT_FOUND when an operator fixes the provider's base URL.
 */
const NO_QUICK_RECOVERY = new Set(["BUDGET_EXHAUSTED", "UPSTREAM_QUOTA_EXHAUSTED", "UNSUPPORTED_BY_PROVIDER", "RESPONSES_STORAGE_FULL", "UPSTREAM_ENDPOINT_NOT_FOUND"]);

/**
 * The retry headers the OpenAI and Anthropic SDKs both honour, for a failure
 * answered with `status`: `retry-after-ms` and `retry-after` when the delay
 * is known, and `x-should-retry: false` when their automatic retries (on
 * 408, 409, 429 and 5xx) would only waste time.
 */
export function sdkRetryHeaders(err: ConnectError, status: number): Record<string, string> {
  const reason = reasonOf(withErrorInfo(err))!;
  const headers: Record<string, string> = {};
  const retryDelay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const retryAfterMs = retryDelay ? durationMs(retryDelay) : undefined;
  if (retryAfterMs !== undefined) {
    headers["retry-after-ms"] = String(Math.max(0, Math.round(retryAfterMs)));
    headers["retry-after"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  const noQuickRecovery =
    NO_QUICK_RECOVERY.has(reason) ||
    (retryAfterMs !== undefined && retryAfterMs > SDK_RETRY_HORIZON_MS) ||
    // Every vendor key rejected and none due for a probe, or taken out of rotation by operators: an operator has to act.
    ((reason === "UPSTREAM_CREDENTIAL_REJECTED" || reason === "NO_PROVIDER_AVAILABLE") && retryAfterMs === undefined);
  if (noQuickRecovery && sdkRetries(status)) headers["x-should-retry"] = "false";
  return headers;
}

/** The statuses both SDKs retry on their own. */
function sdkRetries(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
