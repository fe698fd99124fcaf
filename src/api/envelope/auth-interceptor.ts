import { Code, type Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "../../auth/authenticator.js";
import { principalKey } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { callRecordKey } from "./call-record.js";

/** Services anyone may call: load balancers and grpcurl need them before they have a key. */
export const PUBLIC_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

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
    const record = req.contextValues.get(callRecordKey);
    if (record) record.principal = principal;
    return next(req);
  };
}
