import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * The same handler, but a request body it stops reading early (a frame that
 * fails to decode, one too many) is read to its end in the background and
 * dropped, as Node does for a body nobody read. Left as it is, connect-node
 * destroys the request, and the HTTP/1.1 connection it came on hangs: the
 * client's next request on it is never answered.
 */
export function withUnreadBodyDrained(handler: UniversalHandler): UniversalHandler {
  const answer = (req: UniversalServerRequest) => handler(isByteStream(req.body) ? { ...req, body: drainedOnReturn(req.body) } : req);
  return Object.assign(answer, handler);
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function drainedOnReturn(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const source = body[Symbol.asyncIterator]();
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => source.next(),
    return: async () => {
      void drain(source);
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

async function drain(source: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    while (!(await source.next()).done);
  } catch {
    // The client went away, or was cut off for being slow: nothing left to read.
  }
}
