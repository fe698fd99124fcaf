import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { reasonOf } from "../../common/gateway-error.js";
import { callLineLogger, type Logger } from "../../observability/logger.js";
import { ThrottledWarning } from "../../observability/throttled-warning.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { maskLogText } from "../../providers/redact.js";
import { isUpstreamError } from "../../providers/upstream-error.js";
import { finishedCall, type CallFeed } from "./call-feed.js";
import type { CallRecord } from "./call-record.js";
import { endCallSpan } from "./call-span.js";
import { keylessCallLines } from "./keyless-call-lines.js";
import { withoutRequestText } from "./request-text.js";

/**
 * One log line, one metrics sample and the end of the call's span per API
 * call, whichever surface it came in on (Connect or REST), written from the
 * call's record when it ends (a call no key authenticated: its line within
 * a bound, ./keyless-call-lines.ts). Returns the function to call then. With a
 * feed, calls also go to whoever watches it (only while someone does).
 */
export function startCallLog(logger: Logger, metrics: GatewayMetrics, record: CallRecord, feed?: CallFeed): (err?: unknown) => void {
  const started = performance.now();
  metrics.callsInFlight.inc({ surface: record.surface });
  return (err) => {
    const ended = performance.now();
    const seconds = (ended - started) / 1000;
    const error = err === undefined ? undefined : ConnectError.from(err);
    const status = error ? codeToString(error.code) : "ok";
    metrics.callsInFlight.dec({ surface: record.surface });
    metrics.recordRequest(record.surface, record.method, status, seconds);
    const report = record.report;
    const upstreamMs = record.upstream.ms;
    const overheadMs = upstreamMs === undefined ? undefined : Math.max(0, ended - started - upstreamMs);
    const firstTokenMs = report?.firstTokenAt === undefined ? undefined : report.firstTokenAt - started;
    if (report?.kind && report.provider && report.model) {
      if (overheadMs !== undefined) metrics.overhead.observe({ surface: record.surface, kind: report.kind }, overheadMs / 1000);
      if (firstTokenMs !== undefined) {
        metrics.recordFirstToken(report.provider, report.model, firstTokenMs / 1000);
        // Generation speed once the answer flows, from the first token to the end of a stream that completed.
        const flowing = (ended - report.firstTokenAt!) / 1000;
        if (!error && report.outputTokens && flowing > 0) metrics.recordOutputRate(report.provider, report.model, report.outputTokens / flowing);
      }
    }
    // A fault in tracing or in the feed must never lose the call's line, nor throw where nothing catches it (a REST call's end).
    try {
      endCallSpan(record, error, overheadMs);
    } catch (fault) {
      noteObservabilityFault(logger, "span", record, fault);
    }
    try {
      if (feed?.watched) {
        const call = finishedCall(record, error, status, ended - started, firstTokenMs);
        if (call) feed.publish(call);
      }
    } catch (fault) {
      noteObservabilityFault(logger, "feed", record, fault);
    }
    const line = {
      requestId: logText(record.requestId),
      traceId: record.trace.traceId,
      surface: record.surface,
      method: record.method,
      provider: report?.provider,
      model: logText(report?.model),
      requestedModel: logText(report?.requestedModel),
      keyId: record.principal?.keyId,
      downgraded: report?.downgraded || undefined,
      cache: report?.cache,
      durationMs: Math.round(seconds * 10_000) / 10,
      overheadMs: overheadMs === undefined ? undefined : Math.round(overheadMs * 1000) / 1000,
      firstTokenMs: firstTokenMs === undefined ? undefined : Math.round(firstTokenMs * 10) / 10,
      status,
      error: error && logText(withoutRequestText(error.rawMessage)),
      // What the caller's message leaves out, for operators (an endpoint_not_found's full path under the base URL).
      errorDetail: isUpstreamError(error?.cause) ? logText(error.cause.logDetail) : undefined,
      cause: error && BUG_CODES.has(error.code) ? evidence(error.cause ?? error) : undefined,
    };
    // A call no key authenticated (a refusal, a health probe) costs its sender nothing: its line is written within a bound,
    // per refusal reason or served method (./keyless-call-lines.ts); a bug's always is.
    if (!record.principal && !line.cause && !keylessCallLines(logger).admits(error ? (reasonOf(error) ?? status) : record.method, line)) return;
    const lines = callLineLogger(logger);
    if (line.cause) lines.error(line, "call failed");
    else if (error) lines.warn(line, "call failed");
    else lines.info(line, "call");
  };
}

/**
 * A field of the call's line that a caller or vendor chose (a model, a
 * request id, an error's words), through maskLogText as every other line's
 * fields are: the record masked whole keys, this masks pieces of secrets
 * too (a key cut short). Only these fields: the rest are the gateway's own.
 */
function logText(text: string | undefined): string | undefined {
  return text && maskLogText(text);
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
 * secrets (an HTTP client's request headers), so they are not logged. A
 * message may quote a caller: keys and pieces of secrets in it are masked
 * (the call line's logger masks nothing itself, see callLineLogger).
 */
function evidence(thrown: unknown, depth = 0): Evidence {
  if (!(thrown instanceof Error)) return { type: typeof thrown, message: maskLogText(String(thrown)) };
  const cause = thrown.cause !== undefined && depth < 3 ? evidence(thrown.cause, depth + 1) : undefined;
  return { type: thrown.name, message: maskLogText(thrown.message), stack: thrown.stack && maskLogText(thrown.stack), cause };
}

const observabilityFaults = new WeakMap<Logger, ThrottledWarning>();

/**
 * A span or feed entry a call's end could not write: a bug, warned about (at
 * most every 10 s in a flood) with what was thrown and where, never the
 * call's content. The call's line is still written.
 */
function noteObservabilityFault(logger: Logger, what: "span" | "feed", record: CallRecord, fault: unknown): void {
  let warning = observabilityFaults.get(logger);
  if (!warning) {
    warning = new ThrottledWarning(logger, "a call's span or feed entry could not be written; its log line was");
    observabilityFaults.set(logger, warning);
  }
  warning.note(() => ({ what, requestId: record.requestId, cause: evidence(fault) }));
}
