import { randomUUID } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../../auth/principal.js";
import type { CallContext, CallReport } from "../../gateway/call-context.js";
import { NO_TRACING, type HeaderReader, type Surface, type TracedCall, type Tracing } from "../../observability/tracing.js";
import { UpstreamClock } from "../../observability/upstream-clock.js";
import { holdsKeyOrSecretPiece, maskKeys } from "../../providers/redact.js";

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
 * A call's record, under the caller's `x-request-id` when it is sane (at most
 * 128 letters, digits and `._:-`, holding no key nor a piece of a secret of the
 * gateway's, as log lines mask them: the id goes into
 * log lines, spans and ledger rows), a new id otherwise, with its trace
 * begun (continuing the caller's once a key authenticates the call: see
 * Tracing; so its trace is read only once its key was checked).
 */
export function openCallRecord<C>(method: string, surface: Surface, headers: C, read: HeaderReader<C>, tracing: Tracing = NO_TRACING): CallRecord {
  const requestIdHeader = read(headers, "x-request-id");
  const requestId = requestIdHeader && REQUEST_ID.test(requestIdHeader) && !holdsKeyOrSecretPiece(requestIdHeader) ? requestIdHeader : randomUUID();
  const record: CallRecord = {
    requestId,
    method,
    surface,
    trace: tracing.startCall(method, surface, requestId, headers, read, () => record.principal !== undefined),
    upstream: new UpstreamClock(),
  };
  return record;
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
      record.report = withModelsMasked(report);
    },
    trace: record.trace,
    upstream: record.upstream,
  };
}

/**
 * The report with its models through maskKeys: a caller may name a key as a
 * model ("openai/sk-…"), and the call's log line, span and live feed read
 * them from the record.
 */
function withModelsMasked(report: CallReport): CallReport {
  const requestedModel = maskKeys(report.requestedModel);
  const model = report.model === undefined ? undefined : maskKeys(report.model);
  return requestedModel === report.requestedModel && model === report.model ? report : { ...report, requestedModel, model };
}
