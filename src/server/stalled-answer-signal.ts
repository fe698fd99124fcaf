import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { nodeRequestKey } from "./slow-cut-context.js";
import { answerStallCut } from "./slow-client.js";

/**
 * The same handler, but a call whose answer the gateway cut off unread
 * (./answer-stalls.ts) sees its signal fire with why (DeadlineExceeded,
 * SLOW_CLIENT), not as its client's own cancel: connect-node fires it alike
 * for both (HTTP/2: the stream's CANCEL reset; HTTP/1.1: the connection
 * closed), and the call's log line and ledger row read that reason.
 */
export function withStalledAnswerReason(handler: UniversalHandler): UniversalHandler {
  const answer = (req: UniversalServerRequest) => {
    const node = req.contextValues?.get(nodeRequestKey);
    if (!node) return handler(req);
    return handler({ ...req, signal: withStallReason(req.signal, () => answerStallCut(node)) });
  };
  return Object.assign(answer, handler);
}

/** `signal`, but fired with the stall cut's error when `stallCut` tells of one as it fires. */
function withStallReason(signal: AbortSignal, stallCut: () => unknown): AbortSignal {
  const controller = new AbortController();
  const fire = (): void => controller.abort(stallCut() ?? signal.reason);
  if (signal.aborted) fire();
  else signal.addEventListener("abort", fire, { once: true });
  return controller.signal;
}
