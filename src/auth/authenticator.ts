import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { KeyHasher } from "./gateway-key.js";
import type { KeyDirectory, KeyRefusal } from "./key-directory.js";
import type { Principal } from "./principal.js";

// The same message whether the key is missing or wrong: no hint for guessing.
const UNAUTHENTICATED = "a valid gateway key is required in `Authorization: Bearer <key>` or `x-api-key`";

/** What authentication reads of a request's headers: the Fetch API's Headers, or a plain lookup (REST, without building one per call). */
export type HeaderReader = Pick<Headers, "get">;

/** The headers a gateway key is read from. */
export const KEY_HEADERS = ["authorization", "x-api-key"] as const;

/** How a repeated header's values are joined into one. */
export const LIST_SEPARATOR = ", ";

/**
 * Reads the gateway key from `Authorization: Bearer <key>` or `x-api-key: <key>`.
 * Both may come (Claude Code sends ANTHROPIC_AUTH_TOKEN in the one and
 * ANTHROPIC_API_KEY in the other), carrying the same key; two different keys
 * are refused (CONFLICTING_KEYS) before either is looked up: whichever the
 * gateway picked, the call could be charged to a key its caller did not mean.
 * So is a key header that came more than once: a proxy in front that reads
 * the last would see another caller than the gateway reading the first. Its
 * values come joined into a list by ", ", as Node and the Fetch API join a
 * repeated header (server/key-headers.ts for `authorization`, which Node would
 * keep the first of), which no key holds (a bearer token has no space).
 */
export function presentedKey(header: HeaderReader): string | undefined {
  for (const name of KEY_HEADERS) {
    if (header.get(name)?.includes(LIST_SEPARATOR)) {
      throw gatewayError(Code.Unauthenticated, `the request carries more than one \`${name}\` header (or several values in one): send the gateway key once`, "CONFLICTING_KEYS", { header: name });
    }
  }
  const authorization = header.get("authorization");
  const apiKey = header.get("x-api-key")?.trim() || undefined;
  if (!authorization) return apiKey;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) {
    throw gatewayError(Code.Unauthenticated, "`Authorization: Bearer` and `x-api-key` carry different keys: send the gateway key in one of them (or the same key in both)", "CONFLICTING_KEYS");
  }
  return bearer;
}

export class Authenticator {
  constructor(
    private readonly hasher: KeyHasher,
    private readonly directory: KeyDirectory,
  ) {}

  /**
   * The principal for the request's key, or an Unauthenticated error:
   * UNAUTHENTICATED alike for a missing, malformed or unknown key;
   * KEY_REVOKED or KEY_EXPIRED only to a caller holding that very key.
   * `remoteAddress` is the connection's, for the caller's share of the key lookups waiting on the store.
   */
  async authenticate(header: HeaderReader, remoteAddress?: string): Promise<Principal> {
    const key = presentedKey(header);
    if (!key) throw gatewayError(Code.Unauthenticated, UNAUTHENTICATED, "UNAUTHENTICATED");
    const digest = this.hasher.digest(key);
    const principal = await this.directory.lookup(digest, remoteAddress);
    if (principal) return principal;
    const refusal = this.directory.refusal?.(digest);
    throw refusal ? refused(refusal) : gatewayError(Code.Unauthenticated, UNAUTHENTICATED, "UNAUTHENTICATED");
  }
}

/** KEY_REVOKED or KEY_EXPIRED, told only to a caller holding that very key. */
export function refused({ keyId, why, atMs }: KeyRefusal): ConnectError {
  const when = new Date(atMs).toISOString();
  return why === "revoked"
    ? gatewayError(Code.Unauthenticated, `this gateway key ("keys/${keyId}") was revoked at ${when}; ask for a new one`, "KEY_REVOKED", { key: keyId })
    : gatewayError(Code.Unauthenticated, `this gateway key ("keys/${keyId}") expired at ${when}; ask for a new one`, "KEY_EXPIRED", { key: keyId });
}
