import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { readRegularFile } from "../common/regular-file.js";
import { TLS_FILE_MAX_BYTES } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { AnswerStalls, type StallClock } from "./answer-stalls.js";
import { answerClientError, type ParserError } from "./client-errors.js";
import { clientLimits, type ClientLimits, type SlowPart } from "./client-limits.js";
import { ConnectionCaps } from "./connection-caps.js";
import { Http1Connections } from "./http1-connections.js";
import { Http2Sessions } from "./http2-sessions.js";
import { headerListBytes, http2HeaderPairs, overflowAnswer } from "./header-overflow.js";
import { writeRefusal } from "./shaped-refusal.js";
import { RequestBodyBudget } from "./request-body-budget.js";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface OnePortOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  handler: Handler;
  logger: Logger;
  /** Timeouts for slow and idle clients, and the connection caps; defaults in client-limits.ts. */
  limits?: Partial<ClientLimits>;
  /** Where refused connections and slow clients cut off are counted. */
  metrics?: Pick<GatewayMetrics, "connectionsRefused" | "slowClients" | "requestBodiesRefused">;
  /**
   * Called when the shutdown grace period is nearly over and calls are still
   * running, so that handlers end them with a status instead of being cut.
   */
  beforeGraceEnds?: () => void;
  /** A plaintext connection that sends nothing for this long is closed (default: the headers timeout). */
  firstBytesTimeoutMs?: number;
  /** For tests: the clock the answer-stall sweep reads; with `manual`, it sweeps only when sweepAnswerStalls() is called. */
  stallClock?: StallClock;
}

/**
 * Concurrent streams one HTTP/2 connection may open; Node's default is 2^32 - 1, an invitation to
 * exhaust memory. 100, as nginx and Envoy's edge settings: clients queue the rest on their side.
 */
const MAX_STREAMS_PER_CONNECTION = 100;

/** The end of the shutdown grace period kept for calls told to stop to send their status (at most half of it). */
const WRAP_UP_MS = 1_000;

/** How long a draining gateway still reads and answers requests already on their way (at most a quarter of the grace). */
const LINGER_MS = 1_000;

/** Node's HTTP/1.1 header limit, which the TLS server's HTTP/1.1 fallback keeps (it takes no option for it). */
const NODE_HEADER_LIMIT = http.maxHeaderSize;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One port for every protocol. With TLS, ALPN picks HTTP/2 or HTTP/1.1.
 * Without TLS, Node's `allowHTTP1` does not work, so each connection's first
 * bytes decide: the HTTP/2 preface goes to the h2c server (gRPC, grpcurl),
 * anything else to the HTTP/1.1 server (browsers, curl, Connect, REST).
 * The HTTP servers never listen themselves, so none of Node's defaults for
 * accepted sockets apply: no-delay, timeouts and caps are set here.
 */
export class OnePortServer {
  private readonly listener: net.Server;
  private readonly h1?: http.Server;
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly limits: ClientLimits;
  private readonly caps: ConnectionCaps;
  private readonly http1: Http1Connections;
  private readonly http2: Http2Sessions;
  private readonly stalls: AnswerStalls;
  private readonly bodies: RequestBodyBudget;
  private readonly h2Sockets = new WeakSet<net.Socket>();
  /** A plaintext HTTP/1.1 connection's first bytes, until its first request has begun: where a header overflow finds the request line. */
  private readonly firstBytes = new WeakMap<net.Socket, Buffer>();
  /** Every accepted socket (with TLS, once its handshake is done), including those that have not sent a byte yet. */
  private readonly sockets = new Set<net.Socket>();
  private inFlight = 0;
  private draining = false;
  private idle: (() => void) | undefined;

  constructor(private readonly options: OnePortOptions) {
    this.limits = clientLimits(options.limits);
    const cutOff = (late: SlowPart): void => void options.metrics?.slowClients.inc({ waiting_for: late });
    this.http1 = new Http1Connections(this.limits, cutOff, () => options.metrics?.connectionsRefused.inc({ limit: "pipelined" }), options.logger);
    this.http2 = new Http2Sessions(this.limits, cutOff, (limit) => options.metrics?.connectionsRefused.inc({ limit }), { logger: options.logger });
    this.stalls = new AnswerStalls(this.limits.answerStallTimeoutMs, () => cutOff("answer"), options.stallClock);
    this.bodies = new RequestBodyBudget({
      totalBytes: this.limits.maxBufferedRequestBytes,
      perConnectionBytes: Math.min(this.limits.maxBufferedRequestBytesPerConnection, this.limits.maxBufferedRequestBytes),
      perClientBytes: Math.min(this.limits.maxBufferedRequestBytesPerClient, this.limits.maxBufferedRequestBytes),
      logger: options.logger,
      refused: (limit) => void options.metrics?.requestBodiesRefused.inc({ limit }),
    });
    this.caps = new ConnectionCaps(this.limits, {
      logger: options.logger,
      plaintext: !options.tls,
      refused: (limit) => options.metrics?.connectionsRefused.inc({ limit }),
    });
    const handler = this.track(options.handler);
    if (options.tls) {
      const secure = http2.createSecureServer(
        {
          // Checked when the config loaded (a regular file, bounded, loading): read the same way again.
          cert: readRegularFile(options.tls.certFile, TLS_FILE_MAX_BYTES).bytes,
          key: readRegularFile(options.tls.keyFile, TLS_FILE_MAX_BYTES).bytes,
          allowHTTP1: true,
          settings: this.http2Settings(),
          maxHeaderListPairs: http2HeaderPairs(this.http2Settings()),
          // The handshake is part of what a client must finish before its headers are due.
          handshakeTimeout: this.limits.headersTimeoutMs,
        },
        handler,
      );
      secure.on("secureConnection", (socket: net.Socket) => this.watchSecure(socket));
      // HTTP/1.1 over TLS: Node's parser, with its own header limit; the request line is in what it read, or unknown.
      secure.on("clientError", (err: ParserError, socket: net.Socket) => answerClientError(err, socket, NODE_HEADER_LIMIT, undefined));
      this.h2 = secure;
      this.listener = secure;
    } else {
      this.h2 = http2.createServer({ settings: this.http2Settings(), maxHeaderListPairs: http2HeaderPairs(this.http2Settings()) }, handler);
      this.h1 = http.createServer({ maxHeaderSize: this.limits.maxHeaderBytes }, handler);
      this.h1.on("clientError", (err: ParserError, socket: net.Socket) => answerClientError(err, socket, this.limits.maxHeaderBytes, this.firstBytes.get(socket)));
      // Node sends it to clients in a Keep-Alive header; Http1Connections enforces it.
      this.h1.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
      this.listener = net.createServer();
    }
    this.listener.on("connection", (socket: net.Socket) => this.accept(socket));
    this.h2.on("session", (session: http2.ServerHttp2Session) => this.http2.add(session));
  }

  /** Every new TCP connection: counted against the caps, then (plaintext) routed by its first bytes. */
  private accept(socket: net.Socket): void {
    if (!this.caps.admit(socket)) return;
    // Stream chunks (SSE events, gRPC messages) leave as they are written, not held back by Nagle's algorithm.
    socket.setNoDelay(true);
    if (this.options.tls) return; // the TLS server does the handshake, then ALPN routes it (watchSecure)
    this.remember(socket);
    this.route(socket);
  }

  private remember(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** Sends each plaintext connection to the server its first bytes ask for. */
  private route(socket: net.Socket): void {
    socket.once("error", () => socket.destroy());
    const accepted = performance.now();
    // Until its first bytes arrive no server owns the socket, so none of their timeouts apply yet.
    const silent = setTimeout(() => socket.destroy(), this.options.firstBytesTimeoutMs ?? this.limits.headersTimeoutMs);
    socket.once("close", () => clearTimeout(silent));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const compared = Math.min(head.length, PREFACE.length);
      const isH2 = head.subarray(0, compared).equals(PREFACE.subarray(0, compared));
      // Wait for more bytes only while the start still looks like the preface.
      if (isH2 && compared < PREFACE.length) return;
      socket.off("data", onData);
      clearTimeout(silent);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        // The HTTP/2 session takes the buffered bytes itself and reads the socket natively.
        this.h2Sockets.add(socket);
        this.h2.emit("connection", socket);
      } else {
        this.firstBytes.set(socket, head);
        // The headers were due from the moment the connection opened.
        this.http1.add(socket, Math.max(0, this.limits.headersTimeoutMs - (performance.now() - accepted)));
        this.h1!.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  /** A TLS connection after its handshake: ALPN has chosen HTTP/2 or HTTP/1.1. */
  private watchSecure(socket: net.Socket): void {
    this.remember(socket);
    if ((socket as net.Socket & { alpnProtocol?: string | false }).alpnProtocol === "h2") this.h2Sockets.add(socket);
    else this.http1.add(socket);
  }

  /** Counts requests in flight, so shutdown knows when the last one has finished. */
  private track(handler: Handler): Handler {
    return (req, res) => {
      if (req.httpVersionMajor === 2 && headerListBytes(req.rawHeaders) > this.limits.maxHeaderListBytes) return this.refuseHeaders(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse);
      this.inFlight++;
      this.stalls.track(res);
      this.bodies.watch(req, res);
      // Every response closes, a pipelined one whose connection closed first included (Http1Connections).
      res.once("close", () => {
        this.stalls.untrack(res);
        this.inFlight--;
        if (this.inFlight === 0) this.idle?.();
      });
      if (req.httpVersionMajor === 2) return handler(req, res);
      this.firstBytes.delete(req.socket as net.Socket);
      // At once, or (pipelined) once the answers before it have closed.
      this.http1.track(req as http.IncomingMessage, res as http.ServerResponse, () => handler(req, res));
    };
  }

  /**
   * Past SETTINGS_MAX_HEADER_LIST_SIZE Node resets the stream (no status a caller can read), and
   * well-behaved clients send no such list: it is set at twice the limit, so that lists past the
   * limit reach `refuseHeaders` and are answered in their API's shape. (Unset, Node advertises no
   * limit, and a list past what it can hold ended the whole session, every stream on it.) Node enforces
   * exactly what it advertises, so past twice the limit no answer is possible: such streams are counted
   * and logged (./unseen-streams.ts).
   */
  private http2Settings(): http2.Settings {
    return { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION, maxHeaderListSize: 2 * this.limits.maxHeaderListBytes };
  }

  /** An HTTP/2 request whose header list is past the limit: refused in its API's shape (a gRPC call with a grpc-status). */
  private refuseHeaders(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    const header = (name: string) => [req.headers[name]].flat()[0];
    writeRefusal(res, overflowAnswer({ path: (req.url ?? "/").split("?", 1)[0]!, header }, this.limits.maxHeaderListBytes));
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once("error", reject);
      this.listener.listen(this.options.port, this.options.host, () => {
        this.listener.off("error", reject);
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  /** Request-body bytes held now, before their requests are complete. */
  get bufferedRequestBytes(): number {
    return this.bodies.held;
  }

  /** One pass of the answer-stall sweep (tests with a manual stallClock). */
  sweepAnswerStalls(): void {
    this.stalls.sweep();
  }

  /**
   * Stops accepting, lets in-flight calls and streams finish for up to
   * `graceMs`, then closes whatever is left. HTTP/2 clients get a GOAWAY;
   * idle HTTP/1.1 keep-alive sockets are closed at once. Calls still running
   * near the end are told to stop (`beforeGraceEnds`), so that they end with
   * a status rather than a reset.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // Closing the listener resets every connection still in the kernel's accept queue, after the client may have
    // written its call on it (a balancer then answers 502 and cannot resend a POST). A signal is handled in the same
    // poll phase as the listener's accepts; waiting for the check phase lets libuv accept everything queued first.
    const closed = new Promise<void>((resolve) => setImmediate(() => this.listener.close(() => resolve())));
    // A request may already be on its way on a connection the gateway still holds (a load balancer does not know it is
    // draining): for a moment, such requests are still read and answered, with `connection: close` or a final GOAWAY,
    // rather than reset unread. Connections accepted but not yet routed are served the same way.
    const lingerMs = Math.min(LINGER_MS, graceMs / 4);
    this.http2.close(lingerMs);
    this.http1.drain(lingerMs);
    const wrapUpMs = Math.min(WRAP_UP_MS, graceMs / 2);
    await new Promise((resolve) => setTimeout(resolve, lingerMs));
    if (!(await this.settledWithin(graceMs - lingerMs - wrapUpMs))) {
      this.options.beforeGraceEnds?.();
      if (!(await this.settledWithin(wrapUpMs))) this.options.logger.warn({ inFlight: this.inFlight }, "grace period over; closing remaining connections");
    }
    this.http2.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.stalls.stop();
    await closed;
  }

  /** True once no request is in flight, false if some still are after `ms`. */
  private async settledWithin(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      new Promise<boolean>((resolve) => (this.idle = () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return settled;
  }
}
