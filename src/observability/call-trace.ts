/**
 * What the pipeline sees of a call's trace: a narrow handle, so that nothing
 * but src/observability/otel-tracing.ts knows OpenTelemetry. While tracing is
 * off every call holds the same no-op singletons below: no span, no context,
 * nothing allocated.
 */
export interface CallTrace {
  /** The trace's id (32 hex digits), for log lines and the answer's headers; undefined while tracing is off. */
  readonly traceId: string | undefined;
  /** Message content of this call may be recorded: its route is listed in SWITCHBOARD_TRACE_CONTENT. */
  readonly recordsContent: boolean;
  /** The pipeline admitted the call: what it is (chat, chat_stream, embed) and the model asked for. */
  admitted(kind: string, requestedModel: string): void;
  /** Starts the span of one upstream attempt, a child of the call's. */
  attempt(target: AttemptTarget, reason: AttemptReason): AttemptSpan;
}

/** One attempt's span. */
export interface AttemptSpan {
  /** Headers that carry the trace to the vendor (`traceparent`: the caller's tracestate is not sent on); undefined while tracing is off. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** Streams: the first event arrived (recorded once). */
  firstToken(): void;
  /** How the attempt ended: "ok", an upstream error kind, "cancelled"; `status` is the vendor's HTTP status when there was one. */
  end(outcome: string, status?: string): void;
}

/** What an attempt goes to (the dispatcher's Target has this shape). */
export interface AttemptTarget {
  candidate: { provider: string; upstreamModel: string };
  credential: { id: string };
  hedged: boolean;
}

/** Why an attempt was sent: the call's first, another on the same candidate, the next candidate, or a hedge beside a slow one. */
export type AttemptReason = "first" | "retry" | "failover" | "hedge";

export const NO_ATTEMPT_SPAN: AttemptSpan = {
  headers: undefined,
  firstToken() {},
  end() {},
};

export const NO_CALL_TRACE: CallTrace = {
  traceId: undefined,
  recordsContent: false,
  admitted() {},
  attempt: () => NO_ATTEMPT_SPAN,
};
