// Requests the RPC routes cannot serve as sent: a method or service the
// gateway does not have, a content type no protocol of the method takes, an
// HTTP method it does not take, a bidirectional stream over HTTP/1.1.
// connect-es answers these with a bare 404, 415, 405 or 505 (no
// grpc-status, no body), which a gRPC client reads as
// "UNKNOWN: HTTP status 415" and nobody can act on. Here each is an error
// with ErrorInfo saying what is right, answered in the protocol the
// request's content type names (./shaped-refusal.ts): gRPC's spec asks for a
// trailers-only grpc-status 12 for an unknown method.
import { Code, type ConnectError } from "@connectrpc/connect";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { createAsyncIterable, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { excerpt } from "../common/excerpt.js";
import { gatewayError, METHOD_NOT_ALLOWED } from "../common/gateway-error.js";
import type { EarlyRefusals } from "../api/envelope/early-refusals.js";
import { principalKey } from "../auth/principal.js";
import { shapedRefusal, type RefusalAnswer, type RequestHead } from "./shaped-refusal.js";

/** The reason of a call to an RPC method (or service) the gateway does not have: Unimplemented. */
export const METHOD_NOT_FOUND = "METHOD_NOT_FOUND";

/** The reason of an RPC whose content type no protocol of its method takes: InvalidArgument, 415 on HTTP. */
export const UNSUPPORTED_CONTENT_TYPE = "UNSUPPORTED_CONTENT_TYPE";

/** The reason of a bidirectional stream called over HTTP/1.1, which cannot carry one: Unimplemented, 505 on HTTP. */
export const HTTP2_REQUIRED = "HTTP2_REQUIRED";

/** How many names (methods, services) a refusal lists: the AdminService has 20 methods; a message stays short. */
const MAX_NAMES = 20;

/** Every content type connect-es's protocols take, by its canonical name; a method's are those its handler matches. */
const CONTENT_TYPES = [
  "application/proto",
  "application/json",
  "application/connect+proto",
  "application/connect+json",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web+proto",
  "application/grpc-web+json",
];

/** A method path as gRPC, gRPC-Web and Connect call one: /package.Service/Method. */
const METHOD_PATH = /^\/([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\/([^/]*)$/;

/** A content type that names gRPC or gRPC-Web: such a caller understands nothing but a grpc-status. */
const GRPC_TYPE = /^application\/grpc/i;

/** The first `MAX_NAMES` of `names`, then how many more. */
function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES).join(", ");
  return names.length > MAX_NAMES ? `${shown} and ${names.length - MAX_NAMES} more` : shown;
}

/** ` (did you mean X?)` when `asked` is one of `names` but for case. */
function caseHint(asked: string, names: readonly string[]): string {
  const meant = names.find((name) => name !== asked && name.toLowerCase() === asked.toLowerCase());
  return meant === undefined ? "" : ` (did you mean ${meant}?)`;
}

/**
 * The error for a request no route serves, when it is an RPC's: its path is
 * a method path (/package.Service/Method), or its content type names gRPC.
 * It names the service's methods, or the services when the service is
 * unknown. Undefined for any other path (a scanner's /wp-login.php).
 */
export function unknownMethod(path: string, contentType: string | undefined, handlers: Iterable<UniversalHandler>): ConnectError | undefined {
  const match = METHOD_PATH.exec(path);
  if (!match && !GRPC_TYPE.test(contentType ?? "")) return undefined;
  const services = new Map<string, string[]>();
  for (const { service } of handlers) services.set(service.typeName, service.methods.map((method) => method.name));
  const names = [...services.keys()];
  if (!match) {
    const message = `${JSON.stringify(excerpt(path))} is not a method path: gRPC, gRPC-Web and Connect call /package.Service/Method; the gateway serves: ${listed(names)}`;
    return gatewayError(Code.Unimplemented, message, METHOD_NOT_FOUND, { path: excerpt(path), services: listed(names) });
  }
  const [, service = "", method = ""] = match;
  const methods = services.get(service);
  if (!methods) {
    const message = `the gateway has no service ${JSON.stringify(excerpt(service))}${caseHint(service, names)}; it serves: ${listed(names)}`;
    return gatewayError(Code.Unimplemented, message, METHOD_NOT_FOUND, { service: excerpt(service), services: listed(names) });
  }
  const message = `${service} has no method ${JSON.stringify(excerpt(method))}${caseHint(method, methods)}; its methods: ${listed(methods)}`;
  return gatewayError(Code.Unimplemented, message, METHOD_NOT_FOUND, { service, method: excerpt(method), methods: listed(methods) });
}

/**
 * `handler`, but for connect-es's bare 405 (an HTTP method the RPC does not
 * take), 415 (a content type none of its protocols takes) and 505 (a
 * bidirectional stream over HTTP/1.1: server reflection from a gRPC-Web or
 * Connect client, or curl): those are answered in the protocol the content
 * type names, with an `allow` or an `accept-post` header and the error saying
 * what the method takes (the 505 keeps `connection: close`: a client waiting
 * for a full-duplex stream would hang on the connection). No
 * interceptor sees them: with `early`, each is recorded there as a call,
 * and its answer carries the headers that returns (`x-request-id`).
 */
export function withProtocolRefusals(handler: UniversalHandler, early?: EarlyRefusals): UniversalHandler {
  const name = `${handler.service.typeName}/${handler.method.name}`;
  const accepted = CONTENT_TYPES.filter((type) => handler.supportedContentType(type)).join(", ");
  // connect-es lists GET for every Connect unary method, but serves it only to those without side effects.
  const takesGet = handler.method.methodKind === "unary" && handler.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
  const allowed = takesGet ? "GET, POST" : "POST";
  const answer = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    if (res.body !== undefined || (res.status !== 405 && res.status !== 415 && res.status !== 505)) return res;
    const head: RequestHead = { path: new URL(req.url).pathname, header: (header) => req.header.get(header) ?? undefined };
    // Refused after the RPC key gate: the key it admitted, if any, is the call's (its line names it, its span continues the caller's trace).
    const recorded = (error: ConnectError) => early?.(name, req.header, error, req.contextValues?.get(principalKey));
    if (res.status === 505) {
      const error = gatewayError(Code.Unimplemented, http2Required(handler, name), HTTP2_REQUIRED, { method: name });
      return universal(shapedRefusal(head, error, 505, { connection: "close", ...recorded(error) }));
    }
    if (res.status === 405) {
      const method = excerpt(req.method);
      const error = gatewayError(Code.Unimplemented, `${name} takes ${allowed}, not ${method}`, METHOD_NOT_ALLOWED, { method, allowed });
      return universal(shapedRefusal(head, error, 405, { allow: allowed, ...recorded(error) }));
    }
    const type = excerpt(req.header.get("content-type") ?? "");
    const sent = type === "" ? "a request without a content type" : `content type ${JSON.stringify(type)}`;
    const error = gatewayError(Code.InvalidArgument, `${name} does not take ${sent}; send one of: ${accepted}`, UNSUPPORTED_CONTENT_TYPE, { content_type: type, accepted });
    return universal(shapedRefusal(head, error, 415, { "accept-post": accepted, ...recorded(error) }));
  };
  return Object.assign(answer, handler);
}

/** Why a bidirectional stream cannot be served over HTTP/1.1, and how to call it instead. */
function http2Required(handler: UniversalHandler, name: string): string {
  const what = `${name} is a bidirectional stream, which HTTP/1.1 cannot carry`;
  // What is called so is server reflection, and what calls it are gRPC tools, over HTTP/2.
  if (handler.service.typeName.startsWith("grpc.reflection.")) return `server reflection needs HTTP/2 (grpcurl, grpcui): ${what}`;
  return `${what}: call it over HTTP/2`;
}

/** A refusal as connect-es's adapter writes an answer (with no body, only its headers: trailers-only for gRPC). */
function universal(answer: RefusalAnswer): UniversalServerResponse {
  const header = new Headers(answer.headers);
  if (answer.trailersOnly) return { status: answer.status, header };
  header.set("content-length", String(answer.body.byteLength));
  return { status: answer.status, header, body: createAsyncIterable([answer.body]) };
}
