import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import { principalKey } from "../auth/principal.js";
import { admittedPrincipal } from "./admitted-principal.js";
import { nodeRequestKey } from "./slow-cut-context.js";

// Grouped in common/, below the key directory, which shares its store lookups out by client too.
export { clientKey } from "../common/client-address.js";

/** A Connect call's connection's remote address, in its context values: what a service keeps per client goes by clientKey of it. */
export const remoteAddressKey = createContextKey<string | undefined>(undefined, { description: "the connection's remote address" });

/** The context values a Connect request starts with: its connection's remote address, the principal its key was admitted as before it was read (./rpc-key-gate.ts), and the request itself (./slow-cut-context.ts). */
export function requestContextValues(req: IncomingMessage | Http2ServerRequest): ContextValues {
  const values = createContextValues();
  values.set(remoteAddressKey, req.socket.remoteAddress);
  values.set(nodeRequestKey, req);
  const principal = admittedPrincipal(req);
  if (principal) values.set(principalKey, principal);
  return values;
}
