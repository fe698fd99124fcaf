import { randomUUID } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../../auth/principal.js";
import type { CallContext, CallReport } from "../../gateway/call-context.js";

/**
 * One API call as its envelope knows it, whatever surface it came in on: its
 * id, who made it (once authenticated), and the pipeline's report of how it
 * went. The call's log line is written from it, once, when the call ends.
 */
export interface CallRecord {
  readonly requestId: string;
  /** The RPC ("switchboard.v1.AIService/Chat") or route ("REST POST /v1/chat/completions"). */
  readonly method: string;
  principal?: Principal;
  report?: CallReport;
}

/** The record of a Connect call, set by the request interceptor (no default: a call without one is a wiring bug). */
export const callRecordKey = createContextKey<CallRecord | undefined>(undefined, { description: "the call's record, for its log line" });

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A call's record, under the caller's `x-request-id` when it is sane, a new id otherwise. */
export function openCallRecord(method: string, requestIdHeader: string | null): CallRecord {
  return { requestId: requestIdHeader && REQUEST_ID.test(requestIdHeader) ? requestIdHeader : randomUUID(), method };
}

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
  };
}
