import type { Authenticator, HeaderReader } from "../../auth/authenticator.js";
import type { Principal } from "../../auth/principal.js";

/**
 * Where every authenticated call passes, on every surface: its key is
 * authenticated from the request's headers and one request is taken from the
 * key's requests per minute (UsageHooks.takeRequest), before the request's
 * body is read. A refused call is taken from too (a 400, a 404, a scope
 * refusal): otherwise a key could send bodies without end that the gateway
 * reads and parses only to refuse them. Throws the refusal (Unauthenticated,
 * or ResourceExhausted RATE_LIMITED with a retry delay). `authenticated`
 * hears the principal before its request is taken, so that a refused call's
 * log line names its key. `remoteAddress` is the connection's (for its share of
 * the key lookups waiting on the store).
 */
export type KeyGate = (header: HeaderReader, authenticated?: (principal: Principal) => void, remoteAddress?: string) => Promise<Principal>;

export function createKeyGate(authenticator: Authenticator, takeRequest: (principal: Principal) => Promise<void>): KeyGate {
  return async (header, authenticated, remoteAddress) => {
    const principal = await authenticator.authenticate(header, remoteAddress);
    authenticated?.(principal);
    await takeRequest(principal);
    return principal;
  };
}
