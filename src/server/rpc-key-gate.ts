import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { PUBLIC_SERVICES } from "../api/envelope/auth-interceptor.js";
import type { EarlyRefusals } from "../api/envelope/early-refusals.js";
import type { KeyGate } from "../api/envelope/key-gate.js";
import type { Principal } from "../auth/principal.js";
import { withErrorInfo } from "../common/gateway-error.js";
import { admitPrincipal } from "./admitted-principal.js";
import { webHeaders } from "./lean-rpc/node-headers.js";
import { shapedRefusal, writeRefusal } from "./shaped-refusal.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/**
 * Whether an RPC may be served: false when it was refused, and answered here.
 * `handler` is the method's (connect-es's, which names its service).
 */
export type RpcKeyGate = (req: Request, res: Response, handler: UniversalHandler) => Promise<boolean>;

/**
 * The key gate (api/envelope/key-gate.ts) for Connect, gRPC and gRPC-Web,
 * from the request's headers before its body is read: connect-es and the lean
 * path both decode a request before any interceptor runs, so a key past its
 * request rate refused there would have had its body read and parsed, however
 * large. Refused here, the call is answered in its protocol's shape (as
 * connect-es answers an interceptor's error: its code's HTTP status, its
 * metadata, `retry-after` among it, ErrorInfo and RetryInfo) and recorded
 * as a call (`early`: a log line naming the key, the request metrics,
 * `x-request-id`); its unread body is dropped by Node. Admitted, its
 * principal goes on to the interceptors with the request
 * (./admitted-principal.ts). A key that does not authenticate is let through,
 * for the auth interceptor to refuse as it always has (after what connect-es
 * refuses first: a content type, a method, a body past the size limit).
 * Public services (health, reflection) need no key.
 */
export function createRpcKeyGate(gate: KeyGate, early?: EarlyRefusals): RpcKeyGate {
  return async (req, res, handler) => {
    if (PUBLIC_SERVICES.has(handler.service.typeName)) return true;
    const header = webHeaders(req.headers);
    let principal: Principal | undefined;
    try {
      admitPrincipal(req, await gate(header, (authenticated) => (principal = authenticated), req.socket.remoteAddress));
      return true;
    } catch (err) {
      if (principal === undefined) return true;
      const error = withErrorInfo(ConnectError.from(err, Code.Internal));
      // What the call's record puts on its answer (`x-request-id`) goes where an interceptor's error puts its metadata.
      const recorded = early?.(`${handler.service.typeName}/${handler.method.name}`, header, error, principal);
      for (const [name, value] of Object.entries(recorded ?? {})) error.metadata.set(name, value);
      const path = (req.url ?? "").split("?", 1)[0]!;
      writeRefusal(res, shapedRefusal({ path, header: (name) => header.get(name) ?? undefined }, error, codeToHttpStatus(error.code)));
      return false;
    }
  };
}
