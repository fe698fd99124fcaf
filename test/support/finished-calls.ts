import type { FinishedCall } from "../../src/api/envelope/call-feed.js";

/** A call as the feed sees it finish: a Connect Chat that went well, with what `extra` changes. */
export const finishedCallOf = (requestId: string, extra: Partial<FinishedCall> = {}): FinishedCall => ({
  requestId,
  finishMs: 0,
  surface: "connect",
  method: "switchboard.v1.AIService/Chat",
  status: "ok",
  latencyMs: 1,
  cached: false,
  downgraded: false,
  ...extra,
});
