import type { Credential } from "../../secrets/credential.js";
import type { ErrorContext } from "../codec.js";
import { isJsonObject } from "../codec-errors.js";
import { vendorError } from "../error-messages.js";
import { kindForStatus } from "../status-kinds.js";
import type { UpstreamError, UpstreamErrorKind } from "../upstream-error.js";

/** `{error_code, error_msg}`: how wenxinworkshop reports errors, usually inside an HTTP 200 answer. */
export interface QianfanErrorBody {
  error_code?: number;
  error_msg?: string;
}

/** Invalid (110) or expired (111) access token: fetch a new token and try once more. */
const TOKEN_REJECTED = new Set([110, 111]);

/** Every code of the SDK's APIErrorCode (qianfan/consts.py) and Baidu's error page, by what a caller can do about it. */
const KIND_FOR_CODE = new Map<number, UpstreamErrorKind>([
  [110, "credential_rejected"],
  [111, "credential_rejected"],
  // Service token or IAM failures / app missing: the key (the app), whatever was asked.
  [13, "credential_rejected"],
  [14, "credential_rejected"],
  [15, "credential_rejected"],
  // NoPermissionToAccessData (the SDK's APIErrorCode; Baidu's error page: the app has not activated the model's
  // service): the gateway's app is refused the model, not the key, nor the caller's request; another candidate may serve.
  [6, "account_refused"],
  // PermissionError: no permission for the endpoint, which the caller picks by model name.
  [336004, "bad_request"],
  [4, "rate_limited"],
  [18, "rate_limited"],
  [336501, "rate_limited"],
  [336502, "rate_limited"],
  // Daily and total request limits: nothing to retry until the quota renews.
  [17, "quota_exhausted"],
  [19, "quota_exhausted"],
  [1, "overloaded"],
  [2, "overloaded"],
  [336000, "overloaded"],
  [336100, "overloaded"],
  [500000, "overloaded"],
  // "Unsupported openapi method" and "API name not exist": no such endpoint, i.e. no such model.
  [3, "model_not_found"],
  [336005, "model_not_found"],
  [100, "bad_request"],
  [336101, "bad_request"],
  // The prompt is too long ("the max length of current question is 4800"): the caller's, as 336003 with the same words.
  [336103, "bad_request"],
  [336104, "bad_request"],
  [336105, "bad_request"],
]);

/**
 * Baidu's own wording of a limit, for a code Baidu added since: matched from the
 * start of `error_msg` ("Open api daily request limit reached", "每日额度…"),
 * never further in, where the caller's input (an endpoint, a parameter) is echoed.
 */
const QUOTA_WORDS = /^(?:open api )?(?:daily|total)\b|^[^\s"'`:：]{0,6}(?:额度|欠费|余额)/i;
const RATE_WORDS = /^(?:open api )?(?:(?:qps|rpm|tpm|rate) )?(?:request )?(?:rate )?limit\b|^(?:qps|rpm|tpm)\b|^[^\s"'`:：]{0,6}(?:限流|频率)/i;

/**
 * The kind of an `error_code`: the documented codes by the table
 * (../shared/reference/vendor-wire-formats.md §2a, Errors, and the SDK's
 * APIErrorCode), the invalid-argument family (3360xx) as the caller's, and a
 * code Baidu added since by its leading words (a limit or quota is not a
 * garbled answer to fail over from).
 */
export function kindForErrorCode(code: number, message = ""): UpstreamErrorKind {
  const kind = KIND_FOR_CODE.get(code);
  if (kind) return kind;
  if (code > 336000 && code < 336100) return "bad_request";
  if (QUOTA_WORDS.test(message)) return "quota_exhausted";
  if (RATE_WORDS.test(message)) return "rate_limited";
  return "bad_response";
}

export function hasErrorCode(body: unknown): body is QianfanErrorBody & { error_code: number } {
  return isJsonObject(body) && typeof body.error_code === "number";
}

/**
 * An UpstreamError from an `error_code` body. The access token (among the
 * context's other secrets) is scrubbed from the vendor's text as well as the
 * credential's two keys.
 */
export function qianfanError(ctx: ErrorContext, body: QianfanErrorBody & { error_code: number }, status: number): UpstreamError {
  return vendorError({
    kind: kindForErrorCode(body.error_code, body.error_msg),
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    vendorMessage: `${body.error_msg || "error"} (error_code ${body.error_code})`,
    // A 200 carrying an error is labelled by its kind in metrics, not as "200".
    status: status >= 400 ? status : undefined,
    vendorCode: String(body.error_code),
  });
}

/** Whether the vendor rejected the access token itself (not the call), so a fresh token may succeed. */
export function isTokenRejection(error: UpstreamError): boolean {
  return error.vendorCode !== undefined && TOKEN_REJECTED.has(Number(error.vendorCode));
}

/** An HTTP error without an `error_code` body (a proxy's page, say). */
export function qianfanStatusError(ctx: ErrorContext, status: number, text: string): UpstreamError {
  return vendorError({
    // Not Baidu's shape: a 404 is from a path the server does not serve (an unknown model comes as error_code 3 or 336005).
    kind: kindForStatus(status, "", { vendorShaped: false, message: text }),
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    // Whole: vendorError redacts before it cuts.
    vendorMessage: text,
    status,
  });
}

/** The token endpoint said no: `{error, error_description}` (e.g. invalid_client for a wrong AK/SK). */
export function tokenExchangeError(provider: string, credential: Credential, status: number, error: string | undefined): UpstreamError {
  const rejected = Boolean(error) || status === 400 || status === 401 || status === 403;
  return vendorError({
    kind: rejected ? "credential_rejected" : kindForStatus(status),
    provider,
    credential,
    // error_description can echo the client id (the API Key): it is not passed on.
    vendorMessage: rejected ? "" : "the access token exchange failed",
    status: status >= 400 ? status : undefined,
    vendorCode: error,
  });
}
