import { randomUUID } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../../auth/principal.js";
import type { CallContext, CallReport } from "../../gateway/call-context.js";
import { NO_TRACING, type HeaderReader, type Surface, type TracedCall, type Tracing } from "../../observability/tracing.js";
import { UpstreamClock } from "../../observability/upstream-clock.js";

/**
 * One API call as its envelope knows it, whatever surface it came in on: its
 * id, who made it (once authenticated), its trace, and the pipeline's report
 * of how it went. The call's log line, metrics and span end are written from
 * it, once, when the call ends.
 */
export interface CallRecord {
  readonly requestId: string;
  /** The RPC ("switchboard.v1.AIService/Chat") or route ("REST POST /v1/chat/completions"). */
  readonly method: string;
  readonly surface: Surface;
  /** The call's span (a no-op singleton while tracing is off). */
  readonly trace: TracedCall;
  /** When its attempts were upstream. */
  readonly upstream: UpstreamClock;
  principal?: Principal;
  report?: CallReport;
}

/** The record of a Connect call, set by the request interceptor (no default: a call without one is a wiring bug). */
export const callRecordKey = createContextKey<CallRecord | undefined>(undefined, { description: "the call's record, for its log line" });

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A call's record, under the caller's `x-request-id` when it is sane, a new
 * id otherwise, with its span started (continuing the caller's trace when its
 * headers carry one).
 */
export function openCallRecord<C>(method: string, surface: Surface, headers: C, read: HeaderReader<C>, tracing: Tracing = NO_TRACING): CallRecord {
  const requestIdHeader = read(headers, "x-request-id");
  const requestId = requestIdHeader && REQUEST_ID.test(requestIdHeader) ? requestIdHeader : randomUUID();
  return { requestId, method, surface, trace: tracing.startCall(method, surface, requestId, headers, read), upstream: new UpstreamClock() };
}

/** A header of a Connect call (gRPC metadata included). */
export const connectHeader: HeaderReader<Headers> = (headers, name) => headers.get(name);

/** The call as the pipeline sees it; the pipeline's report lands in the record. */
export function pipelineContext(record: CallRecord, principal: Principal, signal: AbortSignal, deadline: number | undefined): CallContext {
  record.principal = principal;
  return {
    principal,
    signal,
    deadline,
    requestId: record.requestId,
    report: (report) => {
      record.report = report;
    },
    trace: record.trace,
    upstream: record.upstream,
  };
}
