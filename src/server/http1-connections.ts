import type * as http from "node:http";
import type * as net from "node:net";
import type { Logger } from "../observability/logger.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import type { ClientLimits, SlowPart } from "./client-limits.js";
import { slowClientError } from "./slow-client.js";

/** What a client whose headers (or body, when no answer has begun) came too late reads before the connection closes (as from Node's own timeout). */
const REQUEST_TIMEOUT = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/**
 * Requests one connection may have read and not yet answered (pipelined), the one being answered
 * included. Clients that pipeline keep a few outstanding; each one waiting costs about 1.6 KB
 * (its headers more), so sixteen cost what an idle HTTP/2 session does.
 */
export const MAX_PIPELINED_REQUESTS = 16;

const PIPELINE_REFUSAL_TEXT = `too many pipelined requests: at most ${MAX_PIPELINED_REQUESTS} may wait for their answers on one connection\n`;
/** What a client that pipelined past MAX_PIPELINED_REQUESTS reads (when no answer had begun) before the connection closes. */
const PIPELINE_REFUSAL = `HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: text/plain\r\ncontent-length: ${PIPELINE_REFUSAL_TEXT.length}\r\n\r\n${PIPELINE_REFUSAL_TEXT}`;

/** A request read on a connection and not yet answered. */
interface Pipelined {
  res: http.ServerResponse;
  /** Starts work on it: called at once for the first, and for each other when the answers before it have closed. */
  begin: () => void;
}

interface Connection {
  /** Requests whose headers have arrived and whose response has not ended or whose body has not arrived. */
  active: number;
  /** Requests read and not yet answered (their response has not closed), in order: the first is being answered, the rest wait. */
  pipeline: Pipelined[];
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
 *
 * Pipelined requests are worked on one at a time, in order, as nginx and
 * Envoy do: their answers must go out in that order anyway, and Node hands
 * every request in what it has read to the handler at once (its own
 * back-pressure pauses only a connection whose answers are already waiting
 * to be sent), so an asynchronous answer (a call, /metrics) would let one
 * connection start thousands of them. A client that pipelines past
 * MAX_PIPELINED_REQUESTS is refused: Node has already read and parsed those
 * requests, and only closing the connection frees them.
 */
export class Http1Connections {
  private readonly connections = new Map<net.Socket, Connection>();
  private draining = false;
  private readonly refusals: ThrottledWarning;

  constructor(
    private readonly limits: ClientLimits,
    private readonly cutOff: (late: SlowPart) => void,
    private readonly refusedPipeline: () => void,
    logger: Logger,
  ) {
    this.refusals = new ThrottledWarning(logger, `refusing HTTP/1.1 connections that pipeline more than ${MAX_PIPELINED_REQUESTS} requests`);
  }

  /** Watches a connection handed to an HTTP/1.1 server; its first request's headers are due in `headersDueMs`. */
  add(socket: net.Socket, headersDueMs = this.limits.headersTimeoutMs): void {
    const connection: Connection = { active: 0, pipeline: [], bodyDeadlines: new Set() };
    this.connections.set(socket, connection);
    this.expectHeaders(socket, connection, headersDueMs);
    socket.once("close", () => {
      clearTimeout(connection.deadline);
      for (const timer of connection.bodyDeadlines) clearTimeout(timer);
      this.connections.delete(socket);
      for (const { res } of connection.pipeline) closeQueued(res, connection);
    });
  }

  has(socket: net.Socket): boolean {
    return this.connections.has(socket);
  }

  /**
   * A request's headers have arrived: the connection is busy until its
   * response has closed. `serve` hands it to the handler: at once, or, when
   * it was pipelined behind requests not yet answered, once their answers
   * have closed; a request past MAX_PIPELINED_REQUESTS refuses the connection.
   */
  track(req: http.IncomingMessage, res: http.ServerResponse, serve: () => void): void {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (!connection) return serve();
    connection.active++;
    clearTimeout(connection.deadline);
    const { pipeline } = connection;
    const request: Pipelined = {
      res,
      begin: () => {
        this.watchBody(socket, connection, req, res);
        serve();
      },
    };
    pipeline.push(request);
    res.once("close", () => {
      const first = pipeline[0] === request;
      pipeline.splice(pipeline.indexOf(request), 1);
      // Not on a connection closing (its answer said `connection: close`, or the client went): nothing begun could be answered.
      if (first && pipeline.length > 0 && socket.writable) pipeline[0]!.begin();
    });
    if (pipeline.length > MAX_PIPELINED_REQUESTS) this.refusePipeline(socket, pipeline[0]!.res);
    else if (pipeline.length === 1) request.begin();
  }

  /**
   * Work on a request has begun: its body is due next, and it counts as
   * active until its response has ended and its body has arrived. An answer
   * may end first (a 401 sent before the body was read, an early error): the
   * rest of the body is then read and dropped (Node dumps a body nobody
   * read; unread-body.ts drains what Connect stopped reading), and is still
   * due by the same deadline, so that a client trickling it after the answer
   * is cut off at `requestTimeoutMs`, not held for the keep-alive timeout and
   * then the headers timeout. (A pipelined request's body is due from when
   * work on it begins: until then nothing reads it.)
   */
  private watchBody(socket: net.Socket, connection: Connection, req: http.IncomingMessage, res: http.ServerResponse): void {
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
    close(socket, farewell);
  }

  /** A client pipelined past the bound: told so unless an answer has begun on the connection (a 503 cannot follow it), and closed. */
  private refusePipeline(socket: net.Socket, answering: http.ServerResponse): void {
    if (socket.destroyed) return; // refused already: the rest of what Node had read is still being parsed
    this.refusedPipeline();
    this.refusals.note(() => ({ client: socket.remoteAddress, maxPipelinedRequests: MAX_PIPELINED_REQUESTS }));
    close(socket, answering.headersSent ? undefined : PIPELINE_REFUSAL);
  }
}

function close(socket: net.Socket, farewell?: string): void {
  // A small write goes to the kernel at once, so destroying right after does not lose it.
  if (farewell) socket.end(farewell);
  socket.destroy();
}

/**
 * Closes a response still queued behind another when its connection has
 * closed. Node gives a pipelined response the socket only once the answers
 * before it have finished, and before Node 24 never closes one still queued
 * when the connection closes: nothing waiting for its 'close' (the in-flight
 * count, the call's signal, a writer waiting for 'drain') would ever hear of
 * it. Node 24 destroys it and emits 'close' itself; this does the same, once.
 */
function closeQueued(res: http.ServerResponse, connection: Connection): void {
  if (res.socket || res.writableFinished) return; // the one that had the socket: Node closes it
  res.destroy();
  process.nextTick(() => {
    if (connection.pipeline.some((request) => request.res === res)) res.emit("close");
  });
}
