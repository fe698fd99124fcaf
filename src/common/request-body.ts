import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** A request body as read: whole, larger than allowed (what was read so far, the rest left in the request), or cut off by the caller. */
export type ReadBody = { bytes: Buffer } | { over: Buffer[] } | undefined;

/**
 * Reads a request body of at most `maxBytes`, with plain listeners (a
 * stream's async iterator costs more per call than the read itself). One
 * past the bound stops the read (paused, its chunks kept) so that the caller
 * can hand the whole of it on (the lean path to connect-es) or drop the rest;
 * a caller that goes away first yields undefined. So does `cancelled`, the
 * call's cancel signal, aborted or aborting: an HTTP/2 stream the client reset
 * before the read began (while its key was checked) fires neither 'end' nor
 * 'close' again, and the read would never end.
 */
export function readBody(req: IncomingMessage | Http2ServerRequest, maxBytes: number, cancelled?: AbortSignal): Promise<ReadBody> {
  if (cancelled?.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= maxBytes) return;
      req.pause();
      settle({ over: chunks });
    };
    const onEnd = (): void => settle({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onGone = (): void => settle(undefined);
    const settle = (body: ReadBody): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
      cancelled?.removeEventListener("abort", onGone);
      resolve(body);
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onGone);
    req.once("close", onGone);
    cancelled?.addEventListener("abort", onGone, { once: true });
  });
}
