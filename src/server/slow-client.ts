import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest, Http2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { gatewayError, reasonOf } from "../common/gateway-error.js";

/** The reason of a call whose client did not send its request body within `request_timeout_ms`. */
export const SLOW_CLIENT = "SLOW_CLIENT";

/**
 * Why a call whose body came too slowly ends: the gateway cut its client off,
 * which the log and the metrics must not count as the client's own cancel.
 * On HTTP/1.1 it is the request's error, so that whatever was reading the
 * body (the REST envelope, connect-node's abort signal) ends the call with it.
 */
export function slowClientError(): ConnectError {
  return gatewayError(Code.DeadlineExceeded, "the client did not send its request body within request_timeout_ms: the gateway cut it off", SLOW_CLIENT);
}

/** HTTP/2 streams reset for a body too slow: their request is not destroyed with an error, so they are marked. */
const cutStreams = new WeakSet<Http2Stream>();

/** Marks an HTTP/2 stream the gateway is about to reset because its body came too slowly. */
export function markSlowStream(stream: Http2Stream): void {
  cutStreams.add(stream);
}

/**
 * Why a request whose body stopped arriving ended, when the gateway cut its
 * client off for slowness (HTTP/1.1: the error it destroyed the request with;
 * HTTP/2: a marked stream); undefined when the client went away by itself.
 */
export function slowClientCut(req: IncomingMessage | Http2ServerRequest): ConnectError | undefined {
  if ("stream" in req) return cutStreams.has(req.stream) ? slowClientError() : undefined;
  const error = req.errored;
  return error instanceof ConnectError && reasonOf(error) === SLOW_CLIENT ? error : undefined;
}
