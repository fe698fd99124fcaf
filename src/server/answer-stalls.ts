import type { ServerResponse } from "node:http";
import { constants, type Http2ServerResponse } from "node:http2";
import { markStalledAnswer } from "./slow-client.js";

type Response = ServerResponse | Http2ServerResponse;

/** The clock a sweep reads (ms); tests pass their own and sweep by hand. */
export interface StallClock {
  now(): number;
  /** No timer: the owner calls sweep() itself. */
  manual?: boolean;
}

const REAL_CLOCK: StallClock = { now: () => performance.now() };

/** An answer seen waiting on its client: since when, and how far it had got then. */
interface Waiting {
  since: number;
  /** Its bytes still unsent: they fall as the client takes them, one whole write at a time. */
  left: number;
  /** Bytes its connection had written, where they tell of this answer's progress within a write (below). */
  written: number | undefined;
}

/**
 * Answers their clients have stopped taking. An answer is waiting on its
 * client when bytes it wrote are still unsent because the client does not
 * take them (HTTP/2 flow control: a window the client keeps shut, however
 * small the answer; or a full socket), in either of two states:
 *
 * - it is running and its writer waits (write() said false, no 'drain'
 *   since): its unsent bytes fall as the client reads, and 'drain' says the
 *   client took them all;
 * - it has ended but its stream has not closed: its unsent bytes can only
 *   fall, so any fall is the client reading. With none left and the client
 *   done sending, nothing but the client (its END_STREAM or trailers held
 *   back by a shut window) keeps the stream open. A client still sending
 *   its body is the body deadline's business (http2-sessions.ts).
 *
 * Node counts a write as sent only once all of it is, so a large write read
 * slowly shows no fall for a while: its session's written bytes tell
 * instead. They are shared by the session's streams, so they count only for
 * a stream with more than one frame's worth unsent (less goes out whole at
 * the client's first grant: a stream holding a small answer, whatever its
 * siblings do, is waiting on its own window). HTTP/1.1 answers are watched
 * only while running, by 'drain'.
 *
 * One that goes `stallTimeoutMs` without its client taking a byte is cut
 * off (HTTP/2: RST_STREAM, then a GOAWAY so that the session closes once its
 * other streams are done); meanwhile it holds a connection, maybe a vendor's,
 * and buffers for nobody. A slow answer is never cut, only one waiting on its
 * client; a client that reads, however slowly, resets the clock.
 *
 * One sweep a quarter of the limit apart looks at the answers in flight, so
 * a call costs a set entry, and a listener only once it has stalled.
 */
export class AnswerStalls {
  private readonly inFlight = new Set<Response>();
  /** Answers seen waiting on their clients. */
  private readonly waiting = new Map<Response, Waiting>();
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly cutOff: () => void,
    private readonly clock: StallClock = REAL_CLOCK,
  ) {
    if (clock.manual) return;
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
    this.waiting.delete(res);
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** One look at every answer in flight (on the sweeper's timer, or a test's call). */
  sweep(): void {
    const now = this.clock.now();
    for (const res of this.inFlight) {
      const unsent = unsentBytes(res);
      if (unsent === undefined) {
        this.waiting.delete(res);
        continue;
      }
      const seen = this.waiting.get(res);
      const written = writtenWithin(res, unsent);
      if (seen === undefined) {
        this.waiting.set(res, { since: now, left: unsent, written });
        // The writer waits for 'drain': when it comes, the client has taken everything.
        if (needsDrain(res)) res.once("drain", () => this.waiting.delete(res));
      } else if (unsent < seen.left || (written !== undefined && seen.written !== undefined && written > seen.written)) {
        this.waiting.set(res, { since: now, left: unsent, written });
      } else if (now - seen.since >= this.stallTimeoutMs) {
        this.waiting.delete(res);
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

/**
 * The bytes of an answer waiting on its client that are still unsent (a
 * measure that falls as the client takes them), or undefined when the answer
 * is not waiting on its client.
 */
function unsentBytes(res: Response): number | undefined {
  if ("stream" in res) {
    const stream = res.stream;
    if (stream.closed || stream.destroyed) return undefined;
    // Bytes written and not yet sent (whole writes), held back by flow control or the socket.
    const unsent = stream.writableLength;
    if (stream.writableNeedDrain) return unsent;
    if (!stream.writableEnded) return undefined;
    if (unsent > 0) return unsent;
    // All of it sent, or all but the END_STREAM a shut window holds back: the client keeps the stream open, unless it is still sending.
    return stream.state.remoteClose ? 0 : undefined;
  }
  // HTTP/1.1: only a running answer's writer waiting for 'drain'. (An ended answer left in a full socket is not
  // watched: Node shows no progress within a write there, and a slow reader of a large answer must not be cut.)
  return res.writableNeedDrain ? res.writableLength : undefined;
}

/** The bytes an HTTP/2 answer's session has written, while this stream has more than a frame's worth unsent (above). */
function writtenWithin(res: Response, unsent: number): number | undefined {
  if (!("stream" in res)) return undefined;
  const session = res.stream.session;
  if (!session || unsent <= (session.remoteSettings.maxFrameSize ?? 16_384)) return undefined;
  return session.socket?.bytesWritten;
}

/** Ends an answer nobody is reading; the call sees its caller gone (marked as the gateway's cut: ./slow-client.ts), and cancels its vendor request. */
function cut(res: Response): void {
  markStalledAnswer(res);
  if ("stream" in res) {
    const session = res.stream.session;
    res.stream.close(constants.NGHTTP2_CANCEL);
    // No new streams on a session whose client stopped reading: it closes once its other streams have ended.
    if (session && !session.closed && !session.destroyed) session.close();
  } else res.destroy();
}
