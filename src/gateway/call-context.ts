import type { Principal } from "../auth/principal.js";

/** How a call went, as the pipeline reports it once: for the call's log line, which the API envelope writes. */
export interface CallReport {
  requestedModel: string;
  /** The provider and upstream model that served, or that were tried last. */
  provider?: string;
  model?: string;
  /** Served by an economy model because of the key's budget. */
  downgraded: boolean;
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
  /** Told once, when the call is settled, how it went. */
  report?(report: CallReport): void;
}
