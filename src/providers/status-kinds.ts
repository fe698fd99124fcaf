import { ownEntry } from "../common/own-entry.js";
import type { UpstreamErrorKind } from "./upstream-error.js";

/**
 * Machine-readable codes (or types) of the OpenAI-shaped vendors that say more
 * than the status; sources in ../shared/reference/vendor-wire-formats.md
 * (§1 OpenAI, §2b Qianfan v2, §3 DashScope, §6 Zhipu). Codes only: a vendor's
 * message echoes the caller's input (a model name, a field), so it never
 * decides a kind here.
 */
const KIND_FOR_CODE: Readonly<Record<string, UpstreamErrorKind>> = {
  // The account is out of money or quota.
  insufficient_quota: "quota_exhausted", // OpenAI, 429
  Arrearage: "quota_exhausted", // DashScope
  "Throttling.AllocationQuota": "quota_exhausted", // DashScope
  "1113": "quota_exhausted", // Zhipu: arrears
  // The key itself is invalid: the only codes that take a key out of rotation on a 403.
  invalid_api_key: "credential_rejected", // OpenAI
  invalid_iam_token: "credential_rejected", // Qianfan v2
  invalid_appid: "credential_rejected", // Qianfan v2
  InvalidApiKey: "credential_rejected", // DashScope
  // The gateway's account refused, not the request nor the key: another key's account or another candidate may serve.
  unsupported_country_region_territory: "account_refused", // OpenAI, 403: the region the gateway calls from (platform.openai.com/docs/guides/error-codes)
  AccessDenied: "account_refused", // DashScope, 403
  "AccessDenied.Unpurchased": "account_refused", // DashScope, 403: a model the account has not purchased
  // A 401 about a parameter the caller sent, not about the key.
  no_parameter_permission: "bad_request", // Qianfan v2
  // Answered with a 403 or 404 as well: the model, not the key.
  model_not_found: "model_not_found", // OpenAI (also its 403 "project does not have access to model")
  "1211": "model_not_found", // Zhipu
  invalid_model: "model_not_found", // Qianfan v2, with a 400
  "1301": "content_filtered", // Zhipu: unsafe content
};

/** Vendors' content-filter codes: OpenAI's content_filter, Qianfan v2's 403 system_unsafe, DashScope's DataInspectionFailed. */
const CONTENT_FILTER_CODE = /content[_ ]?filter|content_policy|unsafe|sensitive|safety|data_?inspection/i;

/** What a dialect's reader made of an error answer's body, for telling its 404s apart (kindOf404). */
export interface ErrorAnswer {
  /** The body is in the vendor's own error shape: the dialect's reader found its error object (or code). */
  vendorShaped: boolean;
  /** The vendor's message, as read. */
  message: string;
}

/** An error answer as vendors send theirs: what a status with no body to read is taken for. */
const VENDOR_SHAPED: ErrorAnswer = { vendorShaped: true, message: "" };

/**
 * Vendors' own answers, in their error shape, to a path they do not serve: OpenAI's "Invalid URL (POST
 * /chat/completions)", compatible servers' "Unknown request URL: …", Anthropic's bare "Not Found". Matched
 * from the start, where no caller input is echoed (a model's 404 names the model after a prefix).
 */
const NO_SUCH_PATH = /^(?:Invalid URL\b|Unknown request URL\b|Not Found\.?$)/i;

/**
 * A 404 says the vendor does not know the model only when the vendor says so
 * in its own error shape. Any other 404 (a web server's "404 page not found",
 * an HTML page, FastAPI's `{"detail":"Not Found"}`, the vendor's "no such
 * URL") is from a path the server does not serve: the provider's base URL is
 * wrong, most often for a missing `/v1`, and "check the model name" would send
 * the operator the wrong way.
 */
export function kindOf404(answer: ErrorAnswer): "model_not_found" | "endpoint_not_found" {
  return answer.vendorShaped && !NO_SUCH_PATH.test(answer.message.trim()) ? "model_not_found" : "endpoint_not_found";
}

/**
 * Maps an HTTP error status and the vendor's machine-readable error code to a
 * kind a caller can act on. A 403 disables a key only when the code says the
 * key is invalid, and is the gateway's account's only when the code says so
 * (account_refused); any other 403 is about what the caller asked for (a
 * feature, a resource it named). `answer` tells a model's 404 from a path's (kindOf404).
 */
export function kindForStatus(status: number, code = "", answer = VENDOR_SHAPED): UpstreamErrorKind {
  if (status === 404) return kindOf404(answer);
  const byCode = ownEntry(KIND_FOR_CODE, code);
  if (byCode) return byCode;
  if (code && CONTENT_FILTER_CODE.test(code) && status < 500) return "content_filtered";
  if (status === 401) return "credential_rejected";
  if (status === 402) return "quota_exhausted";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 409 || status >= 500) return "overloaded";
  if (status >= 400) return "bad_request";
  return "bad_response";
}
