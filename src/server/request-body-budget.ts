import type * as http from "node:http";
import * as http2 from "node:http2";
import type * as net from "node:net";
import { Code, type ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { gatewayError } from "../common/gateway-error.js";
import type { Logger } from "../observability/logger.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import { clientKey } from "./client-key.js";
import { http1Bytes } from "./header-overflow.js";
import { absoluteTarget } from "./request-target.js";
import { shapedRefusal } from "./shaped-refusal.js";
import { Tally } from "./tally.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Which bound a refused request crossed. */
export type BodyLimit = "total" | "per_connection" | "per_client";

/**
 * The reason of an HTTP/1.1 request refused for its body's bytes: Unavailable
 * (503) when the gateway as a whole holds all it takes, ResourceExhausted
 * (429) when the connection or the client address holds its share; a retry
 * after a second may be taken either way.
 */
export const REQUEST_BODIES_BACKLOGGED = "REQUEST_BODIES_BACKLOGGED";

/** How long a refused client is told to wait before it retries. */
const RETRY_AFTER_MS = 1_000;

/** How long a refused HTTP/1.1 connection is still read (and its bytes dropped), so that the refusal reaches the client before the close. */
const REFUSAL_LINGER_MS = 1_000;

export interface RequestBodyBudgetOptions {
  /** Request-body bytes received and not yet complete, in all. */
  totalBytes: number;
  /** The same on one connection (HTTP/2: over all its streams). */
  perConnectionBytes: number;
  /** The same for one client address, over all its connections. */
  perClientBytes: number;
  logger: Logger;
  refused?: (limit: BodyLimit) => void;
}

/**
 * Bounds the memory request bodies take before anything has handled them.
 * Each request body may be 8 MiB (the message limit), and the handlers read
 * it whole before any interceptor checks the caller's key: without a bound,
 * unauthenticated clients could make the gateway hold 8 MiB per stream, a
 * hundred streams per connection, a thousand connections per address.
 *
 * A body's bytes count from when they are handed to the request (Node's
 * HTTP/1.1 parser, or HTTP/2's compatibility layer once a handler reads:
 * until then, flow control holds an unread stream to its window) until the
 * body is complete or the request closes. Every method's request is one
 * message, handled once it is complete. A chunk that would take the total,
 * its connection's share or its client address's share past its bound is
 * dropped and its request refused: HTTP/2 resets the stream (REFUSED_STREAM
 * when the gateway as a whole is full, so that the client may retry;
 * ENHANCE_YOUR_CALM when the connection or the client is over its share);
 * HTTP/1.1 answers with retry-after, in the shape of the API the request was
 * for (the OpenAI or Anthropic error body, Connect's, gRPC-Web's or gRPC's
 * status), and closes the connection. The
 * client's share keeps one address, with as many connections as it may
 * hold, from taking the whole budget and refusing everyone else's bodies.
 */
export class RequestBodyBudget {
  private total = 0;
  private readonly perConnection = new Tally<object>();
  private readonly perClient = new Tally<string>();
  private readonly refusals: ThrottledWarning;

  constructor(private readonly options: RequestBodyBudgetOptions) {
    this.refusals = new ThrottledWarning(options.logger, "refusing request bodies over the buffered request bytes bounds");
  }

  /** Bytes counted now (tests, metrics). */
  get held(): number {
    return this.total;
  }

  /** Counts a request's body as it arrives, until it is complete or the request closes. */
  watch(req: Request, res: Response): void {
    const connection: object = "stream" in req ? req.stream.session ?? req.stream : req.socket;
    const client = clientKey(req.socket.remoteAddress);
    let held = 0;
    let refused = false;
    const release = (): void => {
      if (held === 0) return;
      this.total -= held;
      this.perConnection.remove(connection, held);
      this.perClient.remove(client, held);
      held = 0;
    };
    // Both Node's HTTP/1.1 parser and HTTP/2's compatibility layer hand a body's chunks to the request by calling its push().
    const push = req.push;
    req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null) {
        release();
        return push.call(req, chunk, encoding);
      }
      if (refused) return true; // dropped, and read on: the refusal is on its way
      const size = typeof chunk === "string" ? Buffer.byteLength(chunk, encoding) : (chunk as Uint8Array).byteLength;
      const over = this.overLimit(connection, client, size);
      if (over === undefined) {
        held += size;
        this.total += size;
        this.perConnection.add(connection, size);
        this.perClient.add(client, size);
        return push.call(req, chunk, encoding);
      }
      refused = true;
      release();
      this.refuse(req, res, over);
      return true;
    };
    req.once("close", release);
    res.once("close", release);
  }

  /** The bound `size` more bytes on `connection`, from `client`, would cross, if any. */
  private overLimit(connection: object, client: string, size: number): BodyLimit | undefined {
    if (this.total + size > this.options.totalBytes) return "total";
    if (this.perConnection.of(connection) + size > this.options.perConnectionBytes) return "per_connection";
    return this.perClient.of(client) + size > this.options.perClientBytes ? "per_client" : undefined;
  }

  private refuse(req: Request, res: Response, limit: BodyLimit): void {
    this.options.refused?.(limit);
    this.refusals.note(() => ({ limit, held: this.total, maxBytes: this.options.totalBytes, maxBytesPerConnection: this.options.perConnectionBytes, maxBytesPerClient: this.options.perClientBytes }));
    if ("stream" in req) {
      // Reset from a later turn: this runs inside the stream's own read.
      const code = limit === "total" ? http2.constants.NGHTTP2_REFUSED_STREAM : http2.constants.NGHTTP2_ENHANCE_YOUR_CALM;
      process.nextTick(() => req.stream.close(code));
      return;
    }
    const socket: net.Socket = req.socket;
    // An answer already begun cannot become a 503: the connection just closes.
    if (res.headersSent || socket.destroyed) {
      socket.destroy();
      return;
    }
    const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    socket.once("close", () => clearTimeout(linger));
    socket.end(this.http1Refusal(req, limit));
  }

  /** The refusal in the shape of the API the request was for (its path and content type say which), as HTTP/1.1 bytes. */
  private http1Refusal(req: http.IncomingMessage, limit: BodyLimit): Buffer {
    const error = this.refusalError(limit);
    const target = req.url ?? "/";
    const path = (absoluteTarget(target)?.path ?? target).split("?", 1)[0]!;
    const header = (name: string) => [req.headers[name]].flat()[0];
    return http1Bytes(shapedRefusal({ path, header }, error, codeToHttpStatus(error.code), { "retry-after": error.metadata.get("retry-after")! }));
  }

  private refusalError(limit: BodyLimit): ConnectError {
    const error = (code: Code, message: string, limitBytes: number) =>
      gatewayError(code, message, REQUEST_BODIES_BACKLOGGED, { limit, limit_bytes: String(limitBytes) }, RETRY_AFTER_MS);
    switch (limit) {
      case "total":
        return error(Code.Unavailable, `the gateway holds all the request bytes it takes before their requests are complete (${this.options.totalBytes} bytes, from every caller); retry shortly`, this.options.totalBytes);
      case "per_connection":
        return error(Code.ResourceExhausted, `this connection holds all the request bytes the gateway takes on one before their requests are complete (${this.options.perConnectionBytes} bytes); retry once its other requests are sent`, this.options.perConnectionBytes);
      case "per_client":
        return error(Code.ResourceExhausted, `this client address holds all the request bytes the gateway takes from one before their requests are complete (${this.options.perClientBytes} bytes, over all its connections); retry once its other requests are sent`, this.options.perClientBytes);
    }
  }
}
