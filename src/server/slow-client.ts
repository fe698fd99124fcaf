import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse, Http2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { gatewayError, reasonOf } from "../common/gateway-error.js";

/** The reason of a call whose client did not send its request body within `request_timeout_ms`, or stopped reading its answer for `answer_stall_timeout_ms`. */
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

/** Why a call whose client stopped reading its answer ends: the gateway cut it off (./answer-stalls.ts), as it cuts a body too slow. */
export function answerStalledError(): ConnectError {
  return gatewayError(Code.DeadlineExceeded, "the client read none of its answer for answer_stall_timeout_ms: the gateway cut it off", SLOW_CLIENT);
}

/** The gateway's slow-client cut, when a call's signal fired with it: why a stream's reader stopped, when it was that. */
export function slowClientAbort(signal: AbortSignal): ConnectError | undefined {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof ConnectError && reasonOf(reason) === SLOW_CLIENT ? reason : undefined;
}

/**
 * The streams (HTTP/2) and connections (HTTP/1.1) of answers the gateway cut
 * off unread: a request and its response share them, so that whichever a
 * call's end sees tells the cut from the client's own hang-up.
 */
const stalledAnswers = new WeakSet<object>();

/** What a request and its response share: the HTTP/2 stream, or the HTTP/1.1 connection (which a cut closes, so no later request shares it). */
function carrierOf(message: IncomingMessage | Http2ServerRequest | ServerResponse | Http2ServerResponse): object | null {
  return "stream" in message ? message.stream : message.socket;
}

/** Marks an answer the gateway is about to cut off because its client stopped reading it. */
export function markStalledAnswer(res: ServerResponse | Http2ServerResponse): void {
  const carrier = carrierOf(res);
  if (carrier) stalledAnswers.add(carrier);
}

/** Why a call whose answer was cut off ended, when the gateway cut it for a client that stopped reading; undefined otherwise. */
export function answerStallCut(message: IncomingMessage | Http2ServerRequest | ServerResponse | Http2ServerResponse): ConnectError | undefined {
  const carrier = carrierOf(message);
  return carrier && stalledAnswers.has(carrier) ? answerStalledError() : undefined;
}
