import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { createContextKey, type ConnectError, type ContextValues } from "@connectrpc/connect";
import { slowClientCut } from "./slow-client.js";

/**
 * A Connect call's Node request, in its context values: connect-es's
 * universal request does not carry it, and a call that failed before any
 * interceptor (./request-faults.ts) must tell the gateway's slow-body cut
 * (an HTTP/2 stream it marked, then reset) from the caller's own cancel.
 */
export const nodeRequestKey = createContextKey<IncomingMessage | Http2ServerRequest | undefined>(undefined, { description: "the call's Node request" });

/** slowClientError when the gateway cut the call's client off for a body too slow; undefined otherwise. */
export function slowClientCutOf(values: ContextValues | undefined): ConnectError | undefined {
  const req = values?.get(nodeRequestKey);
  return req && slowClientCut(req);
}
