import type { Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Principal } from "../auth/principal.js";
import type { CallTrace } from "../observability/call-trace.js";
import type { UpstreamClock } from "../observability/upstream-clock.js";
import type { CallKind } from "./call-hooks.js";

/** How a call went, as the pipeline reports it once: for the call's log line, metrics and span, which the API envelope writes. */
export interface CallReport {
  requestedModel: string;
  /** The provider and upstream model that served, or that were tried last. */
  provider?: string;
  model?: string;
  /** Served by an economy model because of the key's budget. */
  downgraded: boolean;
  /** Set once the call was admitted. */
  kind?: CallKind;
  /** Rows of the call's attempts: those sent upstream, and candidates skipped at once (breaker open, no usable key). */
  attempts?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** The vendor's answer: its id and why it stopped ("stop", "length", "tool_calls", …). */
  responseId?: string;
  finishReason?: string;
  /** Streams: when the first token went out to the caller (a performance.now() time). */
  firstTokenAt?: number;
  /** The response cache's part: "hit" when it answered. */
  cache?: string;
  /** What the call cost (nano-units of the accounting currency), once the hooks priced it. */
  costNanos?: number;
  /**
   * What was asked and answered, by reference: read only by a trace whose
   * route records content (SWITCHBOARD_TRACE_CONTENT); never logged.
   */
  content?: { input: readonly Message[]; output?: string };
}

/** One call as the pipeline sees it, whatever surface it came in on. */
export interface CallContext {
  principal: Principal;
  /** Fires when the caller cancels or its deadline passes. */
  signal: AbortSignal;
  /** When the caller's deadline passes (epoch ms), if it set one: retries that cannot finish by then are not started. */
  deadline?: number;
  /** The gateway's id for the call (also in the `x-request-id` header). */
  requestId: string;
  /** The API the caller spoke, as the ledger records it ("anthropic_messages", "openai_responses"); unset for the typed API and chat completions. */
  surface?: string;
  /** Told once, when the call is settled, how it went. */
  report?(report: CallReport): void;
  /** The call's trace; absent (or a no-op) while tracing is off. */
  trace?: CallTrace;
  /** Times the call's attempts, for the gateway's own overhead. */
  upstream?: UpstreamClock;
}
