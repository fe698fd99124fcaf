import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { withErrorInfo } from "../common/gateway-error.js";
import { deadlinePastOnArrival } from "./body-read-deadline.js";
import { bodyCutOf, nodeRequestKey } from "./slow-cut-context.js";
import { isByteStream } from "./unread-body.js";
import { endUnreadStream } from "./unread-stream.js";

/**
 * The same handler, but the caller's deadline (`grpc-timeout`,
 * `connect-timeout-ms`) also bounds the read of its request body, which
 * connect-es 2.1 leaves to run until the body ends: a body still arriving
 * when the deadline passes fails the read with DeadlineExceeded, which the
 * call answers, and the HTTP/2 stream is then freed (./unread-stream.ts)
 * rather than held until request_timeout_ms. A malformed timeout is left for
 * connect-es to refuse. Methods the client streams to read their body while
 * they answer, under connect-es's own deadline: left as they are.
 */
export function withBodyDeadline(handler: UniversalHandler, maxTimeoutMs: number): UniversalHandler {
  if (handler.method.methodKind !== "unary" && handler.method.methodKind !== "server_streaming") return handler;
  const answer = async (req: UniversalServerRequest) => {
    const timeoutMs = deadlineOf(req.header, maxTimeoutMs);
    if (timeoutMs === undefined || deadlinePastOnArrival(timeoutMs) || !isByteStream(req.body)) return handler(req);
    const node = req.contextValues?.get(nodeRequestKey);
    // A body that has all arrived is read to its end whatever the deadline; only a body still arriving is cut here.
    const body = new DeadlineBody(req.body, timeoutMs, () => node?.complete === true, () => {
      if (node && !bodyCutOf(req.contextValues)) endUnreadStream(node);
    });
    try {
      return await handler({ ...req, body });
    } finally {
      body.stop();
    }
  };
  return Object.assign(answer, handler);
}

/** The caller's deadline in ms, from the header of its protocol; undefined without one (or a malformed one). */
function deadlineOf(header: Headers, maxTimeoutMs: number): number | undefined {
  const grpc = header.get("grpc-timeout");
  if (grpc !== null) return parseGrpcTimeout(grpc, maxTimeoutMs).timeoutMs;
  const connect = header.get("connect-timeout-ms");
  return connect === null ? undefined : parseConnectTimeout(connect, maxTimeoutMs).timeoutMs;
}

/** A request body whose reads fail with DeadlineExceeded once the deadline has passed before its end. */
class DeadlineBody implements AsyncIterable<Uint8Array> {
  private readonly source: AsyncIterator<Uint8Array>;
  private readonly passed: Promise<never>;
  private timer: NodeJS.Timeout | undefined;

  constructor(body: AsyncIterable<Uint8Array>, timeoutMs: number, arrived: () => boolean, expired: () => void) {
    this.source = body[Symbol.asyncIterator]();
    this.passed = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => {
        if (arrived()) return;
        expired();
        reject(withErrorInfo(new ConnectError("the call's deadline passed before its request body had all arrived", Code.DeadlineExceeded)));
      }, timeoutMs);
    });
    // Read or not, the deadline's failure is only ever the reader's.
    this.passed.catch(() => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        const result = await Promise.race([this.source.next(), this.passed]);
        if (result.done) this.stop();
        return result;
      },
      return: async (value?: unknown) => {
        this.stop();
        return (await this.source.return?.(value)) ?? { done: true, value: undefined };
      },
    };
  }

  /** The body has all arrived, or the call has answered: the deadline no longer bounds the read. */
  stop(): void {
    clearTimeout(this.timer);
  }
}
