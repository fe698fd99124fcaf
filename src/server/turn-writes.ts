import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { responseClosed } from "./response-drain.js";

type Response = ServerResponse | Http2ServerResponse;

/**
 * Characters (or bytes) held past which they are written at once, not at the
 * turn's end: what a stream holds stays bounded. About what one read from a
 * vendor's socket brings (64 KB), so that a burst read at once is written at once.
 */
const MOST_HELD = 64 * 1024;

/**
 * A stream's writes to its response, held for the turn of the event loop
 * that makes them and written as one at its end, before any I/O: a burst of
 * vendor events read at once leaves in one write, as the vendor's bytes came,
 * rather than one write per event (on HTTP/1.1 four socket writes each: the
 * chunk's size, its line end, the event, the line end). The turn's end is
 * once its promises have run (a stream's events pass through several): a
 * tick queued from a microtask runs after them all, where one queued from
 * the turn's own callback would run before them. A write waits no longer
 * than the turn it was made in, so events a vendor sends apart still leave
 * apart, each at once.
 *
 * What else the response is written (an error event, its end) goes through
 * `flush` or `end`, so that it follows what is held.
 */
export class TurnWrites {
  private held: (string | Uint8Array)[] = [];
  private heldSize = 0;
  private scheduled = false;

  constructor(private readonly res: Response) {}

  /**
   * Holds `chunk` for the turn's write. False when the client is not taking
   * the stream as fast as it is written (the response waits for 'drain'):
   * the stream must wait for it (untilDrained) before it makes more.
   */
  write(chunk: string | Uint8Array): boolean {
    this.held.push(chunk);
    this.heldSize += chunk.length;
    if (this.heldSize >= MOST_HELD) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => process.nextTick(flushAtTurnEnd, this));
    }
    return !needsDrain(this.res);
  }

  /** Writes what is held now (nothing once the response is gone: nobody would read it). */
  flush(): void {
    this.scheduled = false;
    if (this.held.length === 0) return;
    const data = this.take();
    if (!responseClosed(this.res)) (this.res as ServerResponse).write(data);
  }

  /** Ends the response: what is held, then `last`, in its last write. */
  end(last?: string | Uint8Array): void {
    if (last !== undefined) this.held.push(last);
    if (this.held.length === 0) this.res.end();
    else this.res.end(this.take());
  }

  private take(): string | Uint8Array {
    const held = this.held;
    this.held = [];
    this.heldSize = 0;
    if (held.length === 1) return held[0]!;
    const strings = held.filter((chunk) => typeof chunk === "string").length;
    if (strings === held.length) return held.join("");
    return Buffer.concat(strings === 0 ? (held as Uint8Array[]) : held.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)));
  }
}

function flushAtTurnEnd(writes: TurnWrites): void {
  writes.flush();
}

/** Whether the response's last write said false and no 'drain' has come since (HTTP/2's compatibility response asks its stream). */
function needsDrain(res: Response): boolean {
  return "stream" in res ? res.stream.writableNeedDrain : res.writableNeedDrain;
}
