import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";

/** What the pipeline learns about a call, for the request log line and metrics. */
export interface CallInfo {
  requestId: string;
  /** The model the caller asked for. */
  requestedModel?: string;
  /** The provider and upstream model that served (or last tried). */
  provider?: string;
  model?: string;
  /** The gateway key's id (never the key). */
  keyId?: string;
  /** Served by an economy model because of the key's budget. */
  downgraded?: boolean;
}

/** One call as the pipeline sees it, whatever transport it came in on. */
export interface CallContext {
  principal: Principal;
  /** Fires when the caller cancels or its deadline passes. */
  signal: AbortSignal;
  /** When the caller's deadline passes (epoch ms), if it set one: retries that cannot finish by then are not started. */
  deadline?: number;
  info: CallInfo;
}

/** Created per call by the request-id interceptor; filled in by the pipeline. */
export const callInfoKey = createContextKey<CallInfo>({ requestId: "" }, { description: "per-call info for logs" });
