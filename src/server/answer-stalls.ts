import type { ServerResponse } from "node:http";
import { constants, type Http2ServerResponse } from "node:http2";

type Response = ServerResponse | Http2ServerResponse;

/**
 * Answers their clients have stopped taking. A streamed answer whose client
 * leaves its writes unread (write() said false, and no 'drain' since) for
 * `stallTimeoutMs` is cut off: meanwhile it holds a vendor connection and its
 * buffers for nobody. A slow answer is never cut, only one waiting on its
 * client; and a client that reads, however slowly, resets the clock.
 *
 * One sweep a quarter of the limit apart looks at the answers in flight, so
 * a call costs a set entry, and a listener only once it has stalled.
 */
export class AnswerStalls {
  private readonly inFlight = new Set<Response>();
  /** Answers seen stalled, and since when (ms, performance.now()). */
  private readonly stalled = new Map<Response, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly cutOff: () => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, stallTimeoutMs / 4));
    this.sweeper.unref();
  }

  /** Watches an answer until it closes. */
  track(res: Response): void {
    this.inFlight.add(res);
  }

  /** The answer has closed. */
  untrack(res: Response): void {
    this.inFlight.delete(res);
    this.stalled.delete(res);
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = performance.now();
    for (const res of this.inFlight) {
      if (!needsDrain(res)) continue;
      const since = this.stalled.get(res);
      if (since === undefined) {
        this.stalled.set(res, now);
        res.once("drain", () => this.stalled.delete(res));
      } else if (now - since >= this.stallTimeoutMs) {
        this.stalled.delete(res);
        this.cutOff();
        cut(res);
      }
    }
  }
}

/** Whether the answer's last write is still waiting for its client (HTTP/2's compatibility response keeps that on its stream). */
function needsDrain(res: Response): boolean {
  return "stream" in res ? res.stream.writableNeedDrain : res.writableNeedDrain;
}

/** Ends an answer nobody is reading; the call sees its caller gone, and cancels its vendor request. */
function cut(res: Response): void {
  if ("stream" in res) res.stream.close(constants.NGHTTP2_CANCEL);
  else res.destroy();
}
