import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { toConnectError } from "../../gateway/errors.js";
import { asDecodeFault, withWellFormedMessage } from "../../server/request-faults.js";
import { startCallLog } from "./call-log.js";
import { callRecordKey, openCallRecord } from "./call-record.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";

/**
 * Outermost interceptor: gives every call a request id (returned in
 * `x-request-id`), and when the call ends (streams: after the last message)
 * writes one log line and the request metrics.
 */
export function createRequestInterceptor(logger: Logger, metrics: GatewayMetrics): Interceptor {
  return (next) => async (req) => {
    const record = openCallRecord(`${req.service.typeName}/${req.method.name}`, req.header.get("x-request-id"));
    req.contextValues.set(callRecordKey, record);
    const finish = startCallLog(logger, metrics, record);
    // What the caller gets and the log records alike (see callError); a request
    // that fails to decode is InvalidArgument (connect-es decodes the request
    // of a streaming method inside the interceptors).
    const failed = (err: unknown): ConnectError => {
      const error = withWellFormedMessage(asDecodeFault(callError(err, req.signal)));
      error.metadata.set("x-request-id", record.requestId);
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
    if (!res.stream) {
      finish();
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        // A stream ends by completing, failing, or the client going away (return()).
        let outcome: unknown = new ConnectError("the client cancelled the stream", Code.Canceled);
        try {
          yield* messages;
          outcome = undefined;
        } catch (err) {
          outcome = failed(err);
          throw outcome;
        } finally {
          finish(outcome);
        }
      })(),
    };
  };
}

/**
 * A cancelled fetch is the caller going away (Canceled, as connect-es maps
 * it); any other stray Error is a bug: Internal "internal error" to the
 * caller (not the bug's own message), with the Error kept as the cause for
 * the log line.
 */
function callError(err: unknown, signal: AbortSignal): ConnectError {
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) return ConnectError.from(err);
  return toConnectError(err, signal);
}
