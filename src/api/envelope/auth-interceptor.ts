import { Code, type Interceptor } from "@connectrpc/connect";
import { AIService } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { Authenticator } from "../../auth/authenticator.js";
import { principalKey } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { callRecordKey } from "./call-record.js";
import type { KeyScreen } from "./key-screen.js";

/** Services anyone may call: load balancers and grpcurl need them before they have a key. */
export const PUBLIC_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/** Services only the master key or an admin-scoped key may call. */
export const ADMIN_SERVICES = new Set(["switchboard.v1.AdminService"]);

/** What a read-only admin key may call: AIP's read methods (Get, List) and live views (Watch); any other RPC may change something. */
const READ_METHOD = /^(Get|List|Watch)[A-Z]/;

/**
 * Authenticates every call but those to public services, checks the admin
 * scope, screens a key already past its request rate out of every AIService
 * method (the calls admission takes, and ListModels, which it never sees),
 * takes a request from the key's rate for every AdminService call (which no
 * admission sees: `admitAdmin`), and hands the principal on.
 */
export function createAuthInterceptor(authenticator: Authenticator, screen?: KeyScreen, admitAdmin?: KeyScreen): Interceptor {
  return (next) => async (req) => {
    if (PUBLIC_SERVICES.has(req.service.typeName)) return next(req);
    const principal = await authenticator.authenticate(req.header);
    if (ADMIN_SERVICES.has(req.service.typeName) && !principal.admin) {
      throw gatewayError(Code.PermissionDenied, `key "${principal.keyId}" lacks the admin scope needed for ${req.service.typeName}`, "ADMIN_SCOPE_REQUIRED", {
        key: principal.keyId,
        service: req.service.typeName,
      });
    }
    if (ADMIN_SERVICES.has(req.service.typeName) && principal.policy?.record.adminReadOnly && !READ_METHOD.test(req.method.name)) {
      throw gatewayError(Code.PermissionDenied, `key "${principal.keyId}" is a read-only admin key: it may read, not call ${req.method.name}`, "ADMIN_READ_ONLY", {
        key: principal.keyId,
        method: `${req.service.typeName}/${req.method.name}`,
      });
    }
    req.contextValues.set(principalKey, principal);
    const record = req.contextValues.get(callRecordKey);
    if (record) record.principal = principal;
    // Every AIService call, as every REST call: a read admission never sees (ListModels) too, as GET /v1/models is.
    // connect-es has decoded the request by now; what is spared is all the service would do with it.
    if (req.service.typeName === AIService.typeName) await screen?.(principal);
    else if (ADMIN_SERVICES.has(req.service.typeName)) await admitAdmin?.(principal);
    return next(req);
  };
}
