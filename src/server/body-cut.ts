import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import { callerGone } from "./lean-rpc/call-signal.js";
import { slowClientCut } from "./slow-client.js";

/**
 * Why a request's body stopped before its end, when it did: the gateway cut
 * its client off for slowness (DeadlineExceeded, SLOW_CLIENT), or the caller
 * cut it itself, resetting its HTTP/2 stream (RST_STREAM CANCEL, as a client
 * cancelling its call sends) or hanging up mid-body (Canceled, CANCELLED, as
 * the request interceptor records a caller gone later). Undefined while the
 * body is whole or still arriving. Node ends the read of a reset HTTP/2
 * stream's body as if it were complete, and fires nothing more for a stream
 * reset before its read began, so both readers ask this, not the read.
 */
export function bodyCut(req: IncomingMessage | Http2ServerRequest): ConnectError | undefined {
  const slow = slowClientCut(req);
  if (slow) return slow;
  // HTTP/2: the stream closed before the answer ended (Node calls that aborted); HTTP/1.1: the body ended in an error.
  const cut = "stream" in req ? req.stream.aborted : req.errored !== null && !req.complete;
  if (!cut) return undefined;
  return bodyCancelled(callerGone(req)?.rawMessage ?? "the connection closed");
}

/** The caller's own cut of its request body, `how` it came (a reset's code) when known. */
export function bodyCancelled(how?: string): ConnectError {
  return gatewayError(Code.Canceled, `the client went away before its request body had all arrived${how ? ` (${how})` : ""}`, "CANCELLED");
}
