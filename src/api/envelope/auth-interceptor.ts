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

/** The AIService methods whose calls the pipeline admits against the key's limits: screened (`KeyScreen`) before the service reads them. */
const ADMITTED_METHODS = new Set([AIService.method.chat, AIService.method.chatStream, AIService.method.embed].map((method) => method.name));

/**
 * Authenticates every call but those to public services, checks the admin
 * scope, screens a key its admission would refuse for its request rate, and
 * hands the principal on.
 */
export function createAuthInterceptor(authenticator: Authenticator, screen?: KeyScreen): Interceptor {
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
    // connect-es has decoded the request by now; what is spared is all the service would do with it before its admission.
    if (req.service.typeName === AIService.typeName && ADMITTED_METHODS.has(req.method.name)) await screen?.(principal);
    return next(req);
  };
}
