import * as http2 from "node:http2";
import type { Logger } from "../observability/logger.js";
import { clientKey } from "./client-key.js";
import type { ClientLimits, SlowPart } from "./client-limits.js";
import { ENDED_SWEEP_MS, endedByNghttp2 } from "./ended-by-nghttp2.js";
import { PerClientWarning } from "./per-client-warning.js";
import { ResetBudget } from "./reset-budget.js";
import { markSlowStream } from "./slow-client.js";
import { Tally } from "./tally.js";
import { UnseenStreams } from "./unseen-streams.js";

/** Which bound a refused stream crossed: the gateway's open streams, or its client address's share of them (the label it is counted under). */
export type StreamLimit = "streams" | "streams_per_client";

/**
 * What a refusal is counted under: a stream over a bound; a session ended (or a new one refused, while its
 * address cools down) for resetting too many streams; a session nghttp2 ended for a flood or a protocol error;
 * a stream Node reset before the gateway saw it, its header list past what the gateway advertises (./unseen-streams.ts).
 */
export type Http2Refusal = StreamLimit | "resets" | "protocol" | "headers";

export interface Http2SessionsOptions {
  /** Where sessions ended for resets or floods are logged, at most once per address per interval. */
  logger?: Logger;
  /** For tests: the clock the reset budget refills by (milliseconds). */
  now?: () => number;
}

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
 *
 * Streams a client resets before their answer began are budgeted per client
 * address (ResetBudget): past it, the session that reset gets a GOAWAY
 * (ENHANCE_YOUR_CALM) and the address's new sessions are refused while it
 * cools down. These, and sessions nghttp2 ended for a flood, are counted and
 * logged.
 */
export class Http2Sessions {
  /** Each session, and its client address (read once: the socket of a destroyed session may no longer say). */
  private readonly sessions = new Map<http2.ServerHttp2Session, string>();
  /** Set once draining: how long a session is still served after its first GOAWAY. */
  private lingerMs: number | undefined;
  private openStreams = 0;
  private readonly openPerClient = new Tally<string>();
  /** Sessions nghttp2 has ended for a flood or a protocol error, which Node 20 and 22 hold open unread, are destroyed. */
  private readonly endedSweep = setInterval(() => this.destroyEnded(), ENDED_SWEEP_MS).unref();

  private readonly resets: ResetBudget;
  private readonly warnings: PerClientWarning | undefined;
  private readonly headerWarnings: PerClientWarning | undefined;
  /** Sessions the gateway ended itself: their 'error' is its own, already counted. */
  private readonly endedHere = new WeakSet<http2.ServerHttp2Session>();

  constructor(
    private readonly limits: ClientLimits,
    private readonly cutOff: (late: SlowPart) => void,
    private readonly refused: (limit: Http2Refusal) => void = () => {},
    options: Http2SessionsOptions = {},
  ) {
    const now = options.now ?? (() => performance.now());
    this.resets = new ResetBudget(limits.streamResetsPerClientPerSecond, limits.streamResetBurstPerClient, now);
    this.warnings = options.logger && new PerClientWarning(options.logger, "ending HTTP/2 sessions of a client address that floods", 10_000, now);
    this.headerWarnings =
      options.logger && new PerClientWarning(options.logger, "HTTP/2 streams reset by Node before the gateway saw them (a header list past the SETTINGS_MAX_HEADER_LIST_SIZE advertised)", 10_000, now);
  }

  add(session: http2.ServerHttp2Session): void {
    const client = clientKey(session.socket.remoteAddress);
    if (this.resets.coolingDown(client)) {
      // Not before the tick Node reads the bytes already buffered with (its session's native half is gone once destroyed).
      process.nextTick(() => this.end(session, client, "resets"));
      return;
    }
    this.sessions.set(session, client);
    if (this.lingerMs !== undefined) this.goAway(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const awaitStreams = (): void => {
      idle = setTimeout(() => session.close(), this.limits.http2IdleTimeoutMs);
    };
    awaitStreams();
    // Counted each, logged once per session (and at most once per address per interval).
    let warned = false;
    const unseen = new UnseenStreams(session, () => {
      this.refused("headers");
      if (!warned) this.headerWarnings?.note(client, { limit_bytes: session.localSettings.maxHeaderListSize });
      warned = true;
    });
    session.once("goaway", () => unseen.ending());
    // Before Node's own listener, which destroys the session and its state.
    session.socket.prependListener("close", () => unseen.ending());
    // nghttp2 ended the session for a flood or a protocol error (a header field past what HPACK takes: COMPRESSION_ERROR;
    // a header block in too many CONTINUATION frames); Node 20 and 22 say nothing of some (see destroyEnded).
    session.once("error", () => {
      unseen.ending();
      if (!this.endedHere.has(session)) this.noteProtocol(client);
    });
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      unseen.arrived(stream.id ?? 0);
      const over = this.overLimit(client);
      if (over) {
        this.refused(over);
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      this.openStreams++;
      this.openPerClient.add(client);
      open++;
      clearTimeout(idle);
      let cutOff = false;
      // remoteClose: the client has ended its side, so the whole body has arrived.
      const body = setTimeout(() => {
        if (stream.state.remoteClose) return;
        cutOff = true;
        this.cutOff("body");
        markSlowStream(stream);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, this.limits.requestTimeoutMs);
      stream.once("close", () => {
        clearTimeout(body);
        this.openStreams--;
        this.openPerClient.remove(client);
        if (--open === 0 && !session.closed) awaitStreams();
        if (!cutOff && resetBeforeAnswer(stream) && !session.closed && !session.destroyed && !this.resets.take(client)) this.end(session, client, "resets");
      });
    });
    session.once("close", () => {
      clearTimeout(idle);
      this.sessions.delete(session);
    });
  }

  /**
   * Ends a session of a flooding client at once: GOAWAY with `ENHANCE_YOUR_CALM` ("resets": it
   * reset too many streams, or its address is cooling down; nghttp2 has sent its own GOAWAY to
   * a "protocol" one), its streams closed. Counted, and logged once per address per interval.
   */
  private end(session: http2.ServerHttp2Session, client: string, why: "resets" | "protocol"): void {
    if (why === "resets") {
      this.refused(why);
      this.warnings?.note(client, { reason: "too many streams reset" });
    } else this.noteProtocol(client);
    this.endedHere.add(session);
    // Without an error Node sends NO_ERROR, whatever the code; the error goes to the server's 'sessionError', which nothing needs.
    session.destroy(new Error(`HTTP/2 session ended: ${why}`), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  private noteProtocol(client: string): void {
    this.refused("protocol");
    this.warnings?.note(client, { reason: "a flood or a protocol error" });
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
    for (const session of this.sessions.keys()) this.goAway(session);
  }

  private goAway(session: http2.ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    setTimeout(() => session.close(), this.lingerMs).unref();
  }

  destroy(): void {
    clearInterval(this.endedSweep);
    for (const session of this.sessions.keys()) session.destroy();
  }

  /** Runs every ENDED_SWEEP_MS: ends sessions nghttp2 has ended, and forgets what the budgets and warnings no longer need. */
  private destroyEnded(): void {
    this.resets.prune();
    this.warnings?.prune();
    this.headerWarnings?.prune();
    // Once draining, the gateway's own GOAWAY leaves idle sessions wanting no more reads too: close() ends those.
    if (this.lingerMs !== undefined) return;
    for (const [session, client] of this.sessions) if (endedByNghttp2(session)) this.end(session, client, "protocol");
  }
}

/**
 * Whether the client reset `stream` (RST_STREAM) before its answer began: what a rapid reset is
 * made of. (A stream the gateway resets itself before its answer is counted too: a refused body,
 * which the same address caused.)
 */
function resetBeforeAnswer(stream: http2.ServerHttp2Stream): boolean {
  return stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !stream.headersSent;
}
