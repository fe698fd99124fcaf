import * as http2 from "node:http2";
import { clientKey } from "./client-key.js";
import type { ClientLimits, SlowPart } from "./client-limits.js";
import { ENDED_SWEEP_MS, endedByNghttp2 } from "./ended-by-nghttp2.js";
import { markSlowStream } from "./slow-client.js";
import { Tally } from "./tally.js";

/** Which bound a refused stream crossed: the gateway's open streams, or its client address's share of them (the label it is counted under). */
export type StreamLimit = "streams" | "streams_per_client";

/**
 * The HTTP/2 sessions and their deadlines. A session with no open stream is
 * idle: after `http2IdleTimeoutMs` it gets a GOAWAY and closes. (Node's own
 * session timeout counts any frame as activity, so a client sending a PING now
 * and then would hold its session for ever.) A stream whose body has not
 * fully arrived `requestTimeoutMs` after its headers is reset. A stream whose
 * headers never complete does not open, so its session stays idle.
 *
 * Open streams are bounded in all (`maxOpenStreams`) and per client address
 * (`maxOpenStreamsPerClient`, over all its sessions): past either, a new
 * stream is refused with REFUSED_STREAM, which clients may retry, so that
 * one address cannot take every stream and refuse everyone else's.
 */
export class Http2Sessions {
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Set once draining: how long a session is still served after its first GOAWAY. */
  private lingerMs: number | undefined;
  private openStreams = 0;
  private readonly openPerClient = new Tally<string>();
  /** Sessions nghttp2 has ended for a flood or a protocol error, which Node 20 and 22 hold open unread, are destroyed. */
  private readonly endedSweep = setInterval(() => this.destroyEnded(), ENDED_SWEEP_MS).unref();

  constructor(
    private readonly limits: ClientLimits,
    private readonly cutOff: (late: SlowPart) => void,
    private readonly refusedStream: (limit: StreamLimit) => void = () => {},
  ) {}

  add(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    const client = clientKey(session.socket.remoteAddress);
    if (this.lingerMs !== undefined) this.goAway(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const awaitStreams = (): void => {
      idle = setTimeout(() => session.close(), this.limits.http2IdleTimeoutMs);
    };
    awaitStreams();
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      const over = this.overLimit(client);
      if (over) {
        this.refusedStream(over);
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      this.openStreams++;
      this.openPerClient.add(client);
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
        this.openPerClient.remove(client);
        if (--open === 0 && !session.closed) awaitStreams();
      });
    });
    session.once("close", () => {
      clearTimeout(idle);
      this.sessions.delete(session);
    });
  }

  /** The bound a new stream of `client` would cross, if any. */
  private overLimit(client: string): StreamLimit | undefined {
    if (this.openStreams >= this.limits.maxOpenStreams) return "streams";
    const share = Math.min(this.limits.maxOpenStreamsPerClient, this.limits.maxOpenStreams);
    return this.openPerClient.of(client) >= share ? "streams_per_client" : undefined;
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
    clearInterval(this.endedSweep);
    for (const session of this.sessions) session.destroy();
  }

  private destroyEnded(): void {
    // Once draining, the gateway's own GOAWAY leaves idle sessions wanting no more reads too: close() ends those.
    if (this.lingerMs !== undefined) return;
    for (const session of this.sessions) if (endedByNghttp2(session)) session.destroy();
  }
}
