import type { Principal } from "../auth/principal.js";

/**
 * The principal an RPC's key was admitted as before its request was read
 * (./rpc-key-gate.ts), by request, until connect-es or the lean path builds
 * the call's context values from it (./client-key.ts, requestContextValues):
 * the auth interceptor then takes it as it is, neither authenticating the
 * key again nor taking a second request from its rate.
 */
const admitted = new WeakMap<object, Principal>();

export function admitPrincipal(req: object, principal: Principal): void {
  admitted.set(req, principal);
}

export function admittedPrincipal(req: object): Principal | undefined {
  return admitted.get(req);
}
