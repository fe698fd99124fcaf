import type { ConnectError } from "@connectrpc/connect";
import type { Principal } from "../../auth/principal.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { NO_TRACING, type Tracing } from "../../observability/tracing.js";
import type { CallFeed } from "./call-feed.js";
import { startCallLog } from "./call-log.js";
import { connectHeader, openCallRecord } from "./call-record.js";
import { withKeysMasked } from "./masked-error.js";
import { surfaceOf } from "./request-interceptor.js";

/**
 * Records a Connect call refused before any interceptor ran (a unary request
 * that does not decode or is over the size limit, a bad timeout or encoding
 * header, a content type or HTTP method the RPC does not take, a key past its
 * request rate: server/rpc-key-gate.ts): the request
 * interceptor never sees it, so it gets here what that gives every call, a
 * request id, a span, one log line (naming the key, when `principal` does)
 * and the request metrics. Returns the
 * headers its answer carries, as the interceptor's would: `x-request-id`, and
 * the trace's while tracing is on.
 */
export type EarlyRefusals = (method: string, header: Headers, error: ConnectError, principal?: Principal) => Record<string, string>;

export function createEarlyRefusals(logger: Logger, metrics: GatewayMetrics, tracing: Tracing = NO_TRACING, feed?: CallFeed): EarlyRefusals {
  return (method, header, error, principal) => {
    const record = openCallRecord(method, surfaceOf(header.get("content-type")), header, connectHeader, tracing);
    record.principal = principal;
    // The error may quote the request (JSON.parse quotes the text it stopped at): keys in it are masked, as for every call.
    startCallLog(logger, metrics, record, feed)(withKeysMasked(error));
    return { "x-request-id": record.requestId, ...record.trace.responseHeaders };
  };
}
