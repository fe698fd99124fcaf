import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { isJsonObject } from "../codec-errors.js";
import { vendorError } from "../error-messages.js";
import { parseRetryAfter } from "../retry-after.js";
import { kindForStatus } from "../status-kinds.js";
import type { UpstreamError, UpstreamErrorKind } from "../upstream-error.js";

/** `{code, message, request_id}`: DashScope's error body, also the data of a mid-stream `event:error`. */
export interface DashScopeErrorBody {
  code?: string;
  message?: string;
  request_id?: string;
}

export interface DashScopeFault {
  code: string;
  message: string;
}

/** Reads an error answer: plain JSON, or (when streaming was asked for) an event whose data is that JSON. */
export function parseDashScopeError(text: string): DashScopeFault {
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

/** An error DashScope reported: in an HTTP error answer (with its status and headers), a 200 body, or a stream event. */
export function dashScopeError(ctx: ErrorContext, fault: DashScopeFault, answer?: { status: number; headers: ResponseHeaders }): UpstreamError {
  return vendorError({
    kind: kindForDashScopeCode(fault.code, fault.message, answer?.status),
    provider: ctx.provider,
    credential: ctx.credential,
    alsoSecret: ctx.alsoSecret,
    // The code helps a caller search DashScope's error page.
    vendorMessage: fault.code && fault.message ? `${fault.message} (${fault.code})` : fault.message || fault.code,
    status: answer?.status,
    retryAfterMs: answer ? parseRetryAfter(answer.headers) : undefined,
    vendorCode: fault.code,
  });
}

/** A successful answer (or stream chunk) that is an error all the same: a `code` and no `output`. */
export function generationError(body: unknown, ctx: ErrorContext): UpstreamError | undefined {
  if (!isJsonObject(body)) return undefined;
  const answer = body as DashScopeErrorBody & { output?: unknown };
  if (!answer.code || answer.output) return undefined;
  return dashScopeError(ctx, { code: String(answer.code), message: String(answer.message ?? "") });
}
