import type * as http from "node:http";
import type * as net from "node:net";
import type { ClientLimits, SlowPart } from "./client-limits.js";
import { slowClientError } from "./slow-client.js";

/** What a client whose headers (or body, when no answer has begun) came too late reads before the connection closes (as from Node's own timeout). */
const REQUEST_TIMEOUT = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

interface Connection {
  /** Requests whose headers have arrived and whose response has not ended or whose body has not arrived. */
  active: number;
  /** While no request is active: when the client must have sent (the rest of) its next request's headers. */
  deadline?: NodeJS.Timeout;
  /** When the body of a request on it must have arrived (cleared when the connection closes). */
  bodyDeadlines: Set<NodeJS.Timeout>;
}

/**
 * The HTTP/1.1 connections and their deadlines. Node arms its header and
 * request timeouts only in a server that listens itself, and the one-port
 * server's HTTP/1.1 servers never do; so each connection gets its own timers:
 * a request's headers are due `headersTimeoutMs` after the connection opened
 * or after a keep-alive pause, its body `requestTimeoutMs` after its headers
 * (whether or not it has been answered by then); between requests the
 * connection may idle for `keepAliveTimeoutMs`. A trickle of bytes does not
 * reset any of them.
 */
export class Http1Connections {
  private readonly connections = new Map<net.Socket, Connection>();
  private draining = false;

  constructor(
    private readonly limits: ClientLimits,
    private readonly cutOff: (late: SlowPart) => void,
  ) {}

  /** Watches a connection handed to an HTTP/1.1 server; its first request's headers are due in `headersDueMs`. */
  add(socket: net.Socket, headersDueMs = this.limits.headersTimeoutMs): void {
    const connection: Connection = { active: 0, bodyDeadlines: new Set() };
    this.connections.set(socket, connection);
    this.expectHeaders(socket, connection, headersDueMs);
    socket.once("close", () => {
      clearTimeout(connection.deadline);
      for (const timer of connection.bodyDeadlines) clearTimeout(timer);
      this.connections.delete(socket);
    });
  }

  has(socket: net.Socket): boolean {
    return this.connections.has(socket);
  }

  /**
   * A request's headers have arrived: its body is due next, and the
   * connection is busy until the response has ended and the body has arrived.
   * An answer may end first (a 401 sent before the body was read, an early
   * error): the rest of the body is then read and dropped (Node dumps a body
   * nobody read; unread-body.ts drains what Connect stopped reading), and is
   * still due by the same deadline, so that a client trickling it after the
   * answer is cut off at `requestTimeoutMs`, not held for the keep-alive
   * timeout and then the headers timeout.
   */
  track(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (!connection) return;
    connection.active++;
    clearTimeout(connection.deadline);
    if (this.draining) res.setHeader("connection", "close");
    let answered = false;
    let bodyIn = false;
    let finished = false;
    const done = (): void => {
      if (!answered || !bodyIn || finished) return;
      finished = true;
      if (--connection.active > 0 || socket.destroyed) return;
      if (this.draining) socket.destroy();
      else this.expectNextRequest(socket, connection);
    };
    let bodyDue: NodeJS.Timeout | undefined;
    const received = (): void => {
      if (bodyIn) return;
      bodyIn = true;
      if (bodyDue) {
        clearTimeout(bodyDue);
        connection.bodyDeadlines.delete(bodyDue);
      }
      req.off("end", received);
      done();
    };
    // `complete` is the parser's: the whole body has arrived, whether or not anyone has read it
    // (`end` comes once it has also been read, which a handler that stopped reading may never do).
    if (!req.complete) {
      bodyDue = setTimeout(() => {
        if (req.complete) return received();
        this.cut(socket, "body", res.headersSent ? undefined : REQUEST_TIMEOUT);
        // Its call ends with why, not as the client's cancel: the request's error reaches whatever reads its body.
        req.destroy(slowClientError());
      }, this.limits.requestTimeoutMs);
      connection.bodyDeadlines.add(bodyDue);
      req.once("end", received);
    }
    res.once("close", () => {
      answered = true;
      if (req.complete) received();
      done();
    });
  }

  /**
   * Shutdown: every response from now on says `connection: close`, and a
   * connection closes once its last response ends. An idle connection is
   * closed after `lingerMs`, unless a request has begun on it by then (a
   * request already on its way is answered, not reset unread).
   */
  drain(lingerMs: number): void {
    this.draining = true;
    for (const [socket, connection] of this.connections) {
      if (connection.active > 0) continue;
      const bytesRead = socket.bytesRead;
      setTimeout(() => {
        if (connection.active === 0 && socket.bytesRead === bytesRead) socket.destroy();
      }, lingerMs).unref();
    }
  }

  private expectHeaders(socket: net.Socket, connection: Connection, dueMs: number): void {
    connection.deadline = setTimeout(() => this.cut(socket, "headers", REQUEST_TIMEOUT), dueMs);
  }

  /**
   * Idle until the keep-alive timeout; a request begun by then (bytes have
   * arrived, headers not yet) gets the headers timeout to finish its headers.
   */
  private expectNextRequest(socket: net.Socket, connection: Connection): void {
    const bytesRead = socket.bytesRead;
    connection.deadline = setTimeout(() => {
      if (socket.bytesRead > bytesRead) this.expectHeaders(socket, connection, this.limits.headersTimeoutMs);
      else socket.destroy();
    }, this.limits.keepAliveTimeoutMs);
  }

  private cut(socket: net.Socket, late: SlowPart, farewell?: string): void {
    this.cutOff(late);
    // A small write goes to the kernel at once, so destroying right after does not lose it.
    if (farewell) socket.end(farewell);
    socket.destroy();
  }
}
