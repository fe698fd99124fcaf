import { Code, ConnectError } from "@connectrpc/connect";
import { gatewayError, withErrorInfo } from "../common/gateway-error.js";
import { CODE_FOR_KIND, REASON_FOR_KIND, UpstreamError } from "../providers/upstream-error.js";
import { storeUnavailable } from "../store/store-errors.js";

/**
 * The one place where a failure becomes what the caller sees: the right code,
 * a message they can act on, and machine-readable details (ErrorInfo with a
 * stable reason, RetryInfo when a retry may succeed).
 */
export function toConnectError(err: unknown, callerSignal?: AbortSignal): ConnectError {
  // The caller's transport failing a write once it is gone: its own reason when its signal has one, else Canceled.
  if (writeToGoneClient(err)) return callerSignal?.aborted && callerSignal.reason instanceof ConnectError ? callerSignal.reason : gatewayError(Code.Canceled, "the client went away", "CANCELLED");
  if (err instanceof ConnectError) return err;
  if (err instanceof UpstreamError) {
    // A cancelled upstream call is the caller's own doing: report its reason.
    if (err.kind === "cancelled" && callerSignal?.aborted && callerSignal.reason instanceof ConnectError) return callerSignal.reason;
    const metadata: Record<string, string> = { provider: err.provider };
    if (err.credentialId) metadata.credential_id = err.credentialId;
    if (err.status !== undefined) metadata.upstream_status = String(err.status);
    if (err.vendorParam) metadata.upstream_param = err.vendorParam;
    const vendorCode = vendorsOwnCode(err);
    if (vendorCode) metadata.vendor_code = vendorCode;
    const error = gatewayError(CODE_FOR_KIND[err.kind], err.message, err.reason ?? REASON_FOR_KIND[err.kind], metadata, err.retryAfterMs);
    // Kept as the cause: the call's log line reads what it tells operators alone (logDetail).
    error.cause = err;
    return error;
  }
  if (callerSignal?.aborted && callerSignal.reason instanceof ConnectError) return callerSignal.reason;
  // Aborted with no reason: connect-node's signal (and the lean path's, which mirrors it) when an HTTP/1.1 caller hangs up. The caller went away; nothing failed.
  if (callerSignal?.aborted && isBareAbort(callerSignal.reason)) return gatewayError(Code.Canceled, "the client went away", "CANCELLED");
  // The store down or restarting is no bug: the caller may retry (the cause stays out of the message: it names the database's host).
  if (storeUnavailable(err)) return gatewayError(Code.Unavailable, "the gateway's database cannot be reached right now; retry shortly", "STORE_UNAVAILABLE", {}, 1_000);
  return withErrorInfo(new ConnectError("internal error", Code.Internal, undefined, undefined, err));
}

/** The kinds of failure where no vendor answered: their vendorCode is the socket's error (ECONNRESET), the gateway's own account. */
const VENDOR_NOT_HEARD: ReadonlySet<UpstreamError["kind"]> = new Set(["unreachable", "timeout", "cancelled"]);

/**
 * The code or type the vendor gave its error (`context_length_exceeded`,
 * `overloaded_error`), for typed callers to branch on as REST callers do on
 * `error.code`; the ErrorInfo reason stays the gateway's. Already redacted as
 * the message is, and dropped unless it still reads as a code of at most 64
 * characters (safeVendorCode, error-messages.ts).
 */
function vendorsOwnCode(err: UpstreamError): string | undefined {
  return VENDOR_NOT_HEARD.has(err.kind) ? undefined : err.vendorCode;
}

/** The reason an AbortSignal gets when it is aborted with none (a DOMException named AbortError). */
function isBareAbort(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "AbortError";
}

/** What a write fails with once its connection or stream is gone, in an error's cause chain. */
const WRITE_CANCELLED_CODES = new Set(["ECANCELED", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM"]);
const GONE_CLIENT_CODES = new Set(["ECANCELED", "EPIPE", "ECONNRESET", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM"]);

/**
 * Whether `err` is connect-node passing on a failed write to a client already
 * gone (Node 22 and later fail it ECANCELED, which it makes Internal; Node 20
 * ERR_STREAM_DESTROYED, Aborted): the client's hang-up or the gateway's cut of
 * a stalled reader, no bug. A vendor's reset is an UpstreamError, never this.
 */
export function writeToGoneClient(err: unknown): boolean {
  // Node's own write error, before connect-node wraps it: only the codes a write to a closed stream fails with.
  if (!(err instanceof ConnectError)) return err instanceof Error && WRITE_CANCELLED_CODES.has(String((err as { code?: unknown }).code));
  if (err.code !== Code.Internal && err.code !== Code.Aborted) return false;
  for (let cause: unknown = err.cause, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    if (cause instanceof UpstreamError) return false;
    if (GONE_CLIENT_CODES.has(String((cause as { code?: unknown }).code))) return true;
  }
  return false;
}
