import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { createContextKey, type ConnectError, type ContextValues } from "@connectrpc/connect";
import { bodyCut } from "./body-cut.js";

/**
 * A Connect call's Node request, in its context values: connect-es's
 * universal request does not carry it, and a call that failed before any
 * interceptor (./request-faults.ts) is recorded as what cut its body: the
 * gateway's slow-body cut (an HTTP/2 stream it marked, then reset) or the
 * caller's own cancel, not as the malformed body the cut left.
 */
export const nodeRequestKey = createContextKey<IncomingMessage | Http2ServerRequest | undefined>(undefined, { description: "the call's Node request" });

/** Why the call's body stopped before its end (./body-cut.ts): the gateway's slow-body cut or the caller's cancel; undefined otherwise. */
export function bodyCutOf(values: ContextValues | undefined): ConnectError | undefined {
  const req = values?.get(nodeRequestKey);
  return req && bodyCut(req);
}
