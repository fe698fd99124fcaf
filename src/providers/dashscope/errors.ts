import type { Credential } from "../../secrets/credential.js";
import { vendorError } from "../error-messages.js";
import { parseRetryAfter, type UpstreamResponse } from "../http-client.js";
import { kindForStatus } from "../status-kinds.js";
import type { UpstreamError, UpstreamErrorKind } from "../upstream-error.js";

/** `{code, message, request_id}`: DashScope's error body, also the data of a mid-stream `event:error`. */
export interface DashScopeErrorBody {
  code?: string;
  message?: string;
  request_id?: string;
}

/** Reads an error answer: plain JSON, or (when streaming was asked for) an event whose data is that JSON. */
export function parseDashScopeError(text: string): { code: string; message: string } {
  const candidates = [text, ...text.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5))];
  for (const candidate of candidates) {
    try {
      const body = JSON.parse(candidate) as DashScopeErrorBody;
      if (body && typeof body === "object" && (body.code || body.message)) return { code: String(body.code ?? ""), message: String(body.message ?? "") };
    } catch {
      // try the next shape
    }
  }
  return { code: "", message: text.slice(0, 300) };
}

/** The vendor's code decides; the HTTP status is the fallback (a mid-stream error has none). */
export function kindForDashScopeCode(code: string, message: string, status: number | undefined): UpstreamErrorKind {
  if (code === "DataInspectionFailed" || code === "data_inspection_failed") return "content_filtered";
  if (code === "Arrearage" || code === "Throttling.AllocationQuota") return "quota_exhausted";
  if (code === "InvalidApiKey" || code.startsWith("AccessDenied")) return "credential_rejected";
  if (code.startsWith("Throttling")) return "rate_limited";
  if (code.startsWith("InternalError") || code === "ServiceUnavailable") return "overloaded";
  if (code === "RequestTimeOut") return "timeout";
  if (code === "ModelNotFound" || /model.{0,20}not (exist|found)/i.test(message)) return "model_not_found";
  if (code === "InvalidParameter" || code.startsWith("BadRequest")) return "bad_request";
  return status !== undefined ? kindForStatus(status, code, message) : "overloaded";
}

export function dashScopeError(
  provider: string,
  credential: Credential,
  error: { code: string; message: string },
  res?: Pick<UpstreamResponse, "status" | "headers">,
): UpstreamError {
  return vendorError({
    kind: kindForDashScopeCode(error.code, error.message, res?.status),
    provider,
    credential,
    // The code helps a caller search DashScope's error page.
    vendorMessage: error.code && error.message ? `${error.message} (${error.code})` : error.message || error.code,
    status: res?.status,
    retryAfterMs: res ? parseRetryAfter(res.headers) : undefined,
    vendorCode: error.code,
  });
}

/** An HTTP error answer. */
export function dashScopeUpstreamError(provider: string, credential: Credential, res: Pick<UpstreamResponse, "status" | "headers">, text: string): UpstreamError {
  return dashScopeError(provider, credential, parseDashScopeError(text), res);
}
