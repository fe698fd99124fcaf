import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { Logger } from "../observability/logger.js";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface OnePortOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  handler: Handler;
  logger: Logger;
  /** A plaintext connection that sends nothing for this long is closed (it holds a socket and says nothing). */
  firstBytesTimeoutMs?: number;
}

/** Concurrent streams one HTTP/2 connection may open; Node's default is 2^32 - 1, an invitation to exhaust memory. */
const MAX_STREAMS_PER_CONNECTION = 1000;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One port for every protocol. With TLS, ALPN picks HTTP/2 or HTTP/1.1.
 * Without TLS, Node's `allowHTTP1` does not work, so each connection's first
 * bytes decide: the HTTP/2 preface goes to the h2c server (gRPC, grpcurl),
 * anything else to the HTTP/1.1 server (browsers, curl, Connect, REST).
 */
export class OnePortServer {
  private readonly listener: net.Server;
  private readonly h1?: http.Server;
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly h1Sockets = new Map<net.Socket, number>();
  private readonly h2Sockets = new WeakSet<net.Socket>();
  /** Every accepted socket, including those that have not sent a byte yet. */
  private readonly sockets = new Set<net.Socket>();
  private inFlight = 0;
  private draining = false;
  private idle: (() => void) | undefined;

  constructor(private readonly options: OnePortOptions) {
    const handler = this.track(options.handler);
    if (options.tls) {
      const secure = http2.createSecureServer(
        {
          cert: readFileSync(options.tls.certFile),
          key: readFileSync(options.tls.keyFile),
          allowHTTP1: true,
          settings: { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION },
        },
        handler,
      );
      secure.on("secureConnection", (socket: net.Socket) => this.watchH1Socket(socket));
      this.h2 = secure;
      this.listener = secure;
    } else {
      this.h2 = http2.createServer({ settings: { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION } }, handler);
      this.h1 = http.createServer(handler);
      this.h1.keepAliveTimeout = 65_000;
      this.listener = net.createServer((socket) => this.route(socket));
    }
    // With TLS, track the TLS sockets (those the HTTP servers see), not the raw TCP ones.
    this.listener.on(options.tls ? "secureConnection" : "connection", (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.h2.on("session", (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
  }

  /** Sends each plaintext connection to the server its first bytes ask for. */
  private route(socket: net.Socket): void {
    socket.once("error", () => socket.destroy());
    // Until its first bytes arrive no server owns the socket, so none of their timeouts apply yet.
    const silent = setTimeout(() => socket.destroy(), this.options.firstBytesTimeoutMs ?? 10_000);
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
        this.watchH1Socket(socket);
        this.h1!.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  private watchH1Socket(socket: net.Socket): void {
    if ((socket as net.Socket & { alpnProtocol?: string | false }).alpnProtocol === "h2") {
      this.h2Sockets.add(socket);
      return;
    }
    this.h1Sockets.set(socket, 0);
    socket.once("close", () => this.h1Sockets.delete(socket));
  }

  /** Counts requests in flight, so shutdown knows when the last one has finished. */
  private track(handler: Handler): Handler {
    return (req, res) => {
      this.inFlight++;
      const socket = req.socket as net.Socket;
      const perSocket = this.h1Sockets.get(socket);
      if (perSocket !== undefined) this.h1Sockets.set(socket, perSocket + 1);
      if (this.draining && req.httpVersionMajor === 1) res.setHeader("connection", "close");
      res.once("close", () => {
        this.inFlight--;
        const count = this.h1Sockets.get(socket);
        if (count !== undefined) {
          this.h1Sockets.set(socket, count - 1);
          if (this.draining && count - 1 === 0) socket.destroy();
        }
        if (this.inFlight === 0) this.idle?.();
      });
      handler(req, res);
    };
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

  /**
   * Stops accepting, lets in-flight calls and streams finish for up to
   * `graceMs`, then closes whatever is left. HTTP/2 clients get a GOAWAY;
   * idle HTTP/1.1 keep-alive sockets are closed at once.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const [socket, active] of this.h1Sockets) if (active === 0) socket.destroy();
    // Connections that have not said which protocol they speak yet are idle too.
    for (const socket of this.sockets) if (!this.h1Sockets.has(socket) && !this.h2Sockets.has(socket)) socket.destroy();
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      if (this.inFlight > 0) this.options.logger.warn({ inFlight: this.inFlight }, "grace period over; closing remaining connections");
    }
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
