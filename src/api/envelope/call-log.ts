import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import type { CallRecord } from "./call-record.js";

/**
 * One log line and one metrics sample per API call, whichever surface it came
 * in on (Connect or REST), written from the call's record when it ends.
 * Returns the function to call then.
 */
export function startCallLog(logger: Logger, metrics: GatewayMetrics, record: CallRecord): (err?: unknown) => void {
  const started = performance.now();
  return (err) => {
    const seconds = (performance.now() - started) / 1000;
    const error = err === undefined ? undefined : ConnectError.from(err);
    const status = error ? codeToString(error.code) : "ok";
    metrics.recordRequest(record.method, status, seconds);
    const report = record.report;
    const line = {
      requestId: record.requestId,
      method: record.method,
      provider: report?.provider,
      model: report?.model,
      requestedModel: report?.requestedModel,
      keyId: record.principal?.keyId,
      downgraded: report?.downgraded || undefined,
      durationMs: Math.round(seconds * 10_000) / 10,
      status,
      error: error?.rawMessage,
      cause: error && BUG_CODES.has(error.code) ? evidence(error.cause ?? error) : undefined,
    };
    if (line.cause) logger.error(line, "call failed");
    else if (error) logger.warn(line, "call failed");
    else logger.info(line, "call");
  };
}

/** Codes that mean a bug rather than a caller's or vendor's fault: their line says what was thrown, and where. */
const BUG_CODES = new Set([Code.Internal, Code.Unknown]);

interface Evidence {
  type: string;
  message: string;
  stack?: string;
  cause?: Evidence;
}

/**
 * What was thrown: its type, message and stack, and the same for its causes
 * (a few deep). Only these fields: an error's other properties may carry
 * secrets (an HTTP client's request headers), so they are not logged.
 */
function evidence(thrown: unknown, depth = 0): Evidence {
  if (!(thrown instanceof Error)) return { type: typeof thrown, message: String(thrown) };
  const cause = thrown.cause !== undefined && depth < 3 ? evidence(thrown.cause, depth + 1) : undefined;
  return { type: thrown.name, message: thrown.message, stack: thrown.stack, cause };
}
