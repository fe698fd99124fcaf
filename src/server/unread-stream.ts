import type { IncomingMessage } from "node:http";
import { constants, type Http2ServerRequest } from "node:http2";

/**
 * Once the call's answer has been written, ends an HTTP/2 request whose body
 * is still arriving (a call whose deadline passed while it was read):
 * RST_STREAM NO_ERROR after the complete answer, as RFC 9113 §8.1 provides,
 * so that the stream's slot and its body buffer are freed now rather than at
 * request_timeout_ms. Call it before the answer has ended. An HTTP/1.1 body is left to the connection's own
 * request timeout.
 */
export function endUnreadStream(req: IncomingMessage | Http2ServerRequest): void {
  if (!("stream" in req)) return;
  const stream = req.stream;
  const close = (): void => {
    if (!stream.closed && !stream.state.remoteClose) stream.close(constants.NGHTTP2_NO_ERROR);
  };
  // Node's compatibility API ends every answer with trailers, sent on 'wantTrailers' (empty ones too): the reset follows them.
  stream.once("wantTrailers", () => setImmediate(close));
}
