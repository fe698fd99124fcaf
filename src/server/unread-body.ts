import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * The same handler, but a request body it stops reading early (a frame that
 * fails to decode, one too many, a declared length past the size limit that
 * connect-es refuses without reading a byte) is read to its end in the
 * background and dropped, as Node does for a body nobody read. Left as it is,
 * the HTTP/1.1 connection it came on hangs: the client's next request on it
 * is never answered.
 */
export function withUnreadBodyDrained(handler: UniversalHandler): UniversalHandler {
  // A method the client streams to may answer before its request ends; the others have read all they will.
  const readsBeforeAnswering = handler.method.methodKind === "unary" || handler.method.methodKind === "server_streaming";
  const answer = async (req: UniversalServerRequest) => {
    if (!isByteStream(req.body)) return handler(req);
    const body = new DrainableBody(req.body);
    try {
      return await handler({ ...req, body });
    } finally {
      if (readsBeforeAnswering) body.drainRest();
    }
  };
  return Object.assign(answer, handler);
}

export function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** A request body that reads the rest of itself, and drops it, once its reader is done with it. */
class DrainableBody implements AsyncIterable<Uint8Array> {
  private readonly source: AsyncIterator<Uint8Array>;
  private ended = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.source = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        const result = await this.source.next();
        if (result.done) this.ended = true;
        return result;
      },
      return: async () => {
        this.drainRest();
        return { done: true, value: undefined };
      },
    };
  }

  /** Reads what is left in the background; once only. */
  drainRest(): void {
    if (this.ended) return;
    this.ended = true;
    void drain(this.source);
  }
}

async function drain(source: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    while (!(await source.next()).done);
  } catch {
    // The client went away, or was cut off for being slow: nothing left to read.
  }
}
