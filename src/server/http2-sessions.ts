import * as http2 from "node:http2";
import type { ClientLimits, SlowPart } from "./client-limits.js";
import { markSlowStream } from "./slow-client.js";

/**
 * The most HTTP/2 streams open at once over every session. A stream costs
 * 5-14 KB before a byte of its body arrives (which is all the body budget
 * counts), and a client needs no key to open a hundred per connection on a
 * thousand connections: past this, a new stream is refused with
 * REFUSED_STREAM, which clients may retry. 20,000 is about 280 MB at worst.
 */
export const MAX_OPEN_STREAMS = 20_000;

/**
 * The HTTP/2 sessions and their deadlines. A session with no open stream is
 * idle: after `http2IdleTimeoutMs` it gets a GOAWAY and closes. (Node's own
 * session timeout counts any frame as activity, so a client sending a PING now
 * and then would hold its session for ever.) A stream whose body has not
 * fully arrived `requestTimeoutMs` after its headers is reset. A stream whose
 * headers never complete does not open, so its session stays idle.
 */
export class Http2Sessions {
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Set once draining: how long a session is still served after its first GOAWAY. */
  private lingerMs: number | undefined;
  private openStreams = 0;

  constructor(
    private readonly limits: ClientLimits,
    private readonly cutOff: (late: SlowPart) => void,
    private readonly refusedStream: () => void = () => {},
    private readonly maxOpenStreams = MAX_OPEN_STREAMS,
  ) {}

  add(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    if (this.lingerMs !== undefined) this.goAway(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const awaitStreams = (): void => {
      idle = setTimeout(() => session.close(), this.limits.http2IdleTimeoutMs);
    };
    awaitStreams();
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      if (this.openStreams >= this.maxOpenStreams) {
        this.refusedStream();
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      this.openStreams++;
      open++;
      clearTimeout(idle);
      // remoteClose: the client has ended its side, so the whole body has arrived.
      const body = setTimeout(() => {
        if (stream.state.remoteClose) return;
        this.cutOff("body");
        markSlowStream(stream);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, this.limits.requestTimeoutMs);
      stream.once("close", () => {
        clearTimeout(body);
        this.openStreams--;
        if (--open === 0 && !session.closed) awaitStreams();
      });
    });
    session.once("close", () => {
      clearTimeout(idle);
      this.sessions.delete(session);
    });
  }

  /**
   * Shutdown, in two steps as RFC 9113 §6.8 advises: a GOAWAY naming the
   * largest stream id first (no new streams, please), so that streams the
   * client sent meanwhile are still served; after `lingerMs`, the final
   * GOAWAY, and each session closes once its open streams have ended.
   * Sessions that start while draining are treated alike.
   */
  close(lingerMs: number): void {
    this.lingerMs = lingerMs;
    for (const session of this.sessions) this.goAway(session);
  }

  private goAway(session: http2.ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    setTimeout(() => session.close(), this.lingerMs).unref();
  }

  destroy(): void {
    for (const session of this.sessions) session.destroy();
  }
}
