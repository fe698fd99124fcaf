import { Code, type ConnectError, type Interceptor } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { KeyHasher } from "./gateway-key.js";
import type { KeyDirectory, KeyRefusal } from "./key-directory.js";
import { principalKey, type Principal } from "./principal.js";

/** Services anyone may call: load balancers and grpcurl need them before they have a key. */
export const PUBLIC_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

// The same message whether the key is missing or wrong: no hint for guessing.
const UNAUTHENTICATED = "a valid gateway key is required in `Authorization: Bearer <key>` or `x-api-key`";

/** Reads the gateway key from `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(header: Headers): string | undefined {
  const authorization = header.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  return header.get("x-api-key")?.trim() || undefined;
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
   */
  async authenticate(header: Headers): Promise<Principal> {
    const key = presentedKey(header);
    if (!key) throw gatewayError(Code.Unauthenticated, UNAUTHENTICATED, "UNAUTHENTICATED");
    const digest = this.hasher.digest(key);
    const principal = await this.directory.lookup(digest);
    if (principal) return principal;
    const refusal = this.directory.refusal?.(digest);
    throw refusal ? refused(refusal) : gatewayError(Code.Unauthenticated, UNAUTHENTICATED, "UNAUTHENTICATED");
  }
}

function refused({ keyId, why, atMs }: KeyRefusal): ConnectError {
  const when = new Date(atMs).toISOString();
  return why === "revoked"
    ? gatewayError(Code.Unauthenticated, `this gateway key ("keys/${keyId}") was revoked at ${when}; ask for a new one`, "KEY_REVOKED", { key: keyId })
    : gatewayError(Code.Unauthenticated, `this gateway key ("keys/${keyId}") expired at ${when}; ask for a new one`, "KEY_EXPIRED", { key: keyId });
}

/** Services only the master key or an admin-scoped key may call. */
export const ADMIN_SERVICES = new Set(["switchboard.v1.AdminService"]);

/** Authenticates every call but those to public services, checks the admin scope, and hands the principal on. */
export function createAuthInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (PUBLIC_SERVICES.has(req.service.typeName)) return next(req);
    const principal = await authenticator.authenticate(req.header);
    if (ADMIN_SERVICES.has(req.service.typeName) && !principal.admin) {
      throw gatewayError(Code.PermissionDenied, `key "${principal.keyId}" lacks the admin scope needed for ${req.service.typeName}`, "ADMIN_SCOPE_REQUIRED", {
        key: principal.keyId,
        service: req.service.typeName,
      });
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
