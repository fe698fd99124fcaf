import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import { gatewayError } from "../../common/gateway-error.js";
import { toConnectError, writeToGoneClient } from "../../gateway/errors.js";
import { asDecodeFault, withWellFormedMessage } from "../../server/request-faults.js";
import { answerStallCut, slowClientAbort } from "../../server/slow-client.js";
import { nodeRequestKey } from "../../server/slow-cut-context.js";
import type { CallFeed } from "./call-feed.js";
import { startCallLog } from "./call-log.js";
import { withKeysMasked } from "./masked-error.js";
import { watchStream } from "../stream-wrappers.js";
import { callRecordKey, connectHeader, openCallRecord, type CallRecord } from "./call-record.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { NO_TRACING, type Surface, type Tracing } from "../../observability/tracing.js";

/**
 * Outermost interceptor: gives every call a request id (returned in
 * `x-request-id`) and a span continuing the caller's trace (its id returned
 * in `x-trace-id` and `traceresponse` while tracing is on), and when the call
 * ends (streams: after the last message) writes one log line and the request
 * metrics, and ends the span (and tells the feed's watchers, if any).
 */
export function createRequestInterceptor(logger: Logger, metrics: GatewayMetrics, tracing: Tracing = NO_TRACING, feed?: CallFeed): Interceptor {
  return (next) => async (req) => {
    const record = openCallRecord(`${req.service.typeName}/${req.method.name}`, surfaceOf(req.header.get("content-type")), req.header, connectHeader, tracing);
    req.contextValues.set(callRecordKey, record);
    const finish = startCallLog(logger, metrics, record, feed);
    // What the caller gets and the log records alike (see callError), keys it
    // quotes masked; a request that fails to decode is InvalidArgument
    // (connect-es decodes the request of a streaming method inside the interceptors).
    const failed = (err: unknown): ConnectError => {
      const error = withKeysMasked(withWellFormedMessage(asDecodeFault(callError(err, req.signal, () => stallCutOf(req.contextValues.get(nodeRequestKey))))));
      error.metadata.set("x-request-id", record.requestId);
      nameTrace(record, error.metadata);
      return error;
    };

    let res;
    try {
      res = await next(req);
    } catch (err) {
      const error = failed(err);
      finish(error);
      throw error;
    }
    res.header.set("x-request-id", record.requestId);
    nameTrace(record, res.header);
    if (!res.stream) {
      finish();
      return res;
    }
    // A stream ends by completing, failing, or its reader stopping (return()): the client going away, or the gateway cutting it off for not reading.
    const stopped = (): ConnectError => slowClientAbort(req.signal) ?? new ConnectError("the client cancelled the stream", Code.Canceled);
    return {
      ...res,
      message: watchStream(res.message, { mapError: failed, onEnd: finish, cancelled: stopped }),
    };
  };
}

/**
 * Puts the headers naming the call's trace (`x-trace-id`, `traceresponse`) on
 * an answer: read as it goes out, once the auth interceptor checked its key,
 * since that decides whether the call continues the caller's trace (see Tracing).
 */
function nameTrace(record: CallRecord, headers: Headers): void {
  const traceHeaders = record.trace.responseHeaders;
  if (traceHeaders) for (const name in traceHeaders) headers.set(name, traceHeaders[name]!);
}

/** Which protocol a Connect-served call speaks, from its content type. */
export function surfaceOf(contentType: string | null): Surface {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * A caller that went away is Canceled, however its transport put it (an
 * HTTP/2 reset with INTERNAL_ERROR reaches the handler as Internal): the call
 * did not fail, and no bug or alert should say so. A cancelled fetch is the
 * caller going away too (Canceled, as connect-es maps it); any other stray
 * Error is a bug: Internal "internal error" to the caller (not the bug's own
 * message), with the Error kept as the cause for the log line.
 */
function callError(err: unknown, signal: AbortSignal, stallCut: () => ConnectError | undefined): ConnectError {
  if (callerWentAway(signal)) return gatewayError(Code.Canceled, `the client went away (${(signal.reason as ConnectError).rawMessage})`, "CANCELLED");
  // A write to a client already gone: Node 22 and later fail it ECANCELED (before the signal fires), which connect-node
  // passes on as Internal. The gateway's cut of a stalled reader, or the client's hang-up; no bug.
  if (writeToGoneClient(err)) return stallCut() ?? slowClientAbort(signal) ?? gatewayError(Code.Canceled, "the client went away", "CANCELLED");
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) return ConnectError.from(err);
  return toConnectError(err, signal);
}

/** The stall cut's error, when the gateway cut the call's answer off unread (./answer-stalls.ts marks it first). */
function stallCutOf(node: Parameters<typeof answerStallCut>[0] | undefined): ConnectError | undefined {
  return node ? answerStallCut(node) : undefined;
}

/**
 * Whether the transport aborted the call because its caller reset the stream or
 * dropped the connection. The gateway's own aborts say why in their own terms:
 * a deadline is DeadlineExceeded, a shutdown carries its ErrorInfo.
 */
function callerWentAway(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof ConnectError && reason.code !== Code.DeadlineExceeded && reason.findDetails(ErrorInfoSchema).length === 0;
}
