import type { ErrorContext, ResponseHeaders } from "../codec.js";
import { isJsonObject } from "../codec-errors.js";
import { vendorError } from "../error-messages.js";
import { parseRetryAfter } from "../retry-after.js";
import { kindForStatus, kindOf404 } from "../status-kinds.js";
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
  // Not JSON (a proxy's HTML page): whole, since vendorError redacts before it cuts.
  return { code: "", message: text };
}

/**
 * The vendor's code decides (../shared/reference/vendor-wire-formats.md §3a,
 * Errors); the HTTP status is the fallback (a mid-stream error has none).
 * Only InvalidApiKey (401) takes a key out of rotation: AccessDenied and
 * AccessDenied.Unpurchased (403) refuse the account a model it has not
 * purchased or activated: the operator's to fix, not the caller's, and
 * another key's account or another candidate may serve (account_refused);
 * the key still serves its other models.
 */
export function kindForDashScopeCode(code: string, message: string, status: number | undefined): UpstreamErrorKind {
  if (code === "DataInspectionFailed" || code === "data_inspection_failed") return "content_filtered";
  if (code === "Arrearage" || code.includes("AllocationQuota")) return "quota_exhausted";
  if (code === "InvalidApiKey") return "credential_rejected";
  if (code.startsWith("AccessDenied")) return "account_refused";
  if (code.startsWith("Throttling")) return "rate_limited";
  if (code.startsWith("InternalError") || code === "ServiceUnavailable") return "overloaded";
  if (code === "RequestTimeOut") return "timeout";
  // "Model not exist." comes as InvalidParameter: DashScope's own words, from the start.
  if (code === "ModelNotFound" || /^model\b.{0,20}\bnot (exist|found)/i.test(message)) return "model_not_found";
  // DashScope's errors carry a code: a 404 without one is some other server's (kindOf404).
  if (status === 404) return kindOf404({ vendorShaped: code !== "", message });
  if (code === "InvalidParameter" || code.startsWith("BadRequest")) return "bad_request";
  return status !== undefined ? kindForStatus(status, code) : "overloaded";
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
