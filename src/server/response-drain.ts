import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

type Response = ServerResponse | Http2ServerResponse;

/** Whether a response can take no more writes: its socket (HTTP/1.1) or its stream (HTTP/2, whose compatibility response has no `destroyed`) is gone. */
export function responseClosed(res: Response): boolean {
  return "stream" in res ? res.stream.destroyed : res.destroyed;
}

/**
 * Resolves once a response whose write() said false takes writes again
 * ('drain'), or can take none (closed), or `signal` fires. A stream waits on
 * it before it pulls its next message, so that it reads from the vendor only
 * as fast as its client reads.
 */
export function untilDrained(res: Response, signal?: AbortSignal): Promise<void> {
  if (responseClosed(res) || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
    signal?.addEventListener("abort", done);
  });
}
