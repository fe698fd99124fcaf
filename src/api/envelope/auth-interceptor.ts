import { Code, type Interceptor } from "@connectrpc/connect";
import { principalKey } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { remoteAddressKey } from "../../server/client-key.js";
import { callRecordKey } from "./call-record.js";
import type { KeyGate } from "./key-gate.js";

/** Services anyone may call: load balancers and grpcurl need them before they have a key. */
export const PUBLIC_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/** Services only the master key or an admin-scoped key may call. */
export const ADMIN_SERVICES = new Set(["switchboard.v1.AdminService"]);

/** What a read-only admin key may call: AIP's read methods (Get, List) and live views (Watch); any other RPC may change something. */
const READ_METHOD = /^(Get|List|Watch)[A-Z]/;

/** Whether an RPC (by its proto name, "GetKey") only reads: any other may change something. */
export function isReadMethod(methodName: string): boolean {
  return READ_METHOD.test(methodName);
}

/**
 * Authenticates every call but those to public services, taking a request
 * from its key's rate (`gate`), checks the admin scope, and hands the
 * principal on. A call whose key the gate admitted before its request was
 * read (server/rpc-key-gate.ts: every call the HTTP handler serves) comes
 * with its principal, and is neither authenticated nor taken from again.
 */
export function createAuthInterceptor(gate: KeyGate): Interceptor {
  return (next) => async (req) => {
    if (PUBLIC_SERVICES.has(req.service.typeName)) return next(req);
    const record = req.contextValues.get(callRecordKey);
    const principal =
      req.contextValues.get(principalKey) ?? (await gate(req.header, (authenticated) => record && (record.principal = authenticated), req.contextValues.get(remoteAddressKey)));
    if (ADMIN_SERVICES.has(req.service.typeName) && !principal.admin) {
      throw gatewayError(Code.PermissionDenied, `key "${principal.keyId}" lacks the admin scope needed for ${req.service.typeName}`, "ADMIN_SCOPE_REQUIRED", {
        key: principal.keyId,
        service: req.service.typeName,
      });
    }
    if (ADMIN_SERVICES.has(req.service.typeName) && principal.policy?.record.adminReadOnly && !isReadMethod(req.method.name)) {
      throw gatewayError(Code.PermissionDenied, `key "${principal.keyId}" is a read-only admin key: it may read, not call ${req.method.name}`, "ADMIN_READ_ONLY", {
        key: principal.keyId,
        method: `${req.service.typeName}/${req.method.name}`,
      });
    }
    req.contextValues.set(principalKey, principal);
    if (record) record.principal = principal;
    return next(req);
  };
}
