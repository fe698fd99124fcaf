import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { MAX_JSON_DEPTH } from "../api/json-depth.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { Logger } from "../observability/logger.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import { printable } from "../common/control-characters.js";
import { excerpt } from "../common/excerpt.js";
import type { MetricsAccess } from "./metrics-access.js";
import { MetricsRenderCache, type MetricsRenderOptions } from "../observability/metrics-render-cache.js";
import { CONSOLE_PATH, type ConsoleAssets } from "./console-assets.js";
import { capDeadlineHeaders } from "./deadline-cap.js";
import { joinRepeatedKeyHeaders } from "./key-headers.js";
import { MAX_DEADLINE_MS } from "../common/contract.js";
import { ANSWER_COMPRESSIONS } from "./answer-compression.js";
import { applyCors } from "./cors.js";
import { withRequestFaults } from "./request-faults.js";
import { withUnreadBodyDrained } from "./unread-body.js";
import { withBodyDeadline } from "./body-deadline.js";
import { withStalledAnswerReason } from "./stalled-answer-signal.js";
import { failWaitingWritesOnClose } from "./waiting-writes.js";
import { withEnvelopeFlagsChecked } from "./envelope-flags.js";
import { withMissingMessageRefused } from "./missing-message.js";
import { withObjectsBounded } from "./request-objects-bound.js";
import { replayToConnectEs } from "./lean-rpc/connect-es-replay.js";
import { createLeanRpc, type HotMethod } from "./lean-rpc/lean-rpc.js";
import { checkStringsWithIsWellFormed } from "./well-formed-text.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { boundedJsonTextDecoder } from "./json-text-decoder.js";
import { withJsonEnumNamesChecked } from "./json-enum-router.js";
import { absoluteTarget } from "./request-target.js";
import { meantRestPath, restNearMiss } from "./rest-near-miss.js";
import { createLandingPage } from "./landing-page.js";
import { requestContextValues } from "./client-key.js";
import { unknownMethod, withProtocolRefusals } from "./rpc-refusals.js";
import { shapedRefusal, writeRefusal } from "./shaped-refusal.js";
import type { HealthState } from "../common/health-state.js";
import { healthAnswer } from "./health-body.js";
import { mayReadHealthDetail } from "./health-disclosure.js";
import type { EarlyRefusals } from "../api/envelope/early-refusals.js";
import type { RpcKeyGate } from "./rpc-key-gate.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export interface HttpHandlerOptions {
  routes: (router: ConnectRouter) => void;
  /** Unary and server-streaming methods the lean path serves (./lean-rpc), with the same interceptors; connect-es serves the rest. */
  leanMethods?: HotMethod[];
  interceptors: Interceptor[];
  corsOrigins: readonly string[];
  metrics: GatewayMetrics;
  /** Who may read /metrics (default: anyone). */
  metricsAccess?: MetricsAccess;
  /** How long a rendered /metrics text is served again (default: METRICS_RENDER_REUSE_MS). */
  metricsRender?: MetricsRenderOptions;
  health: HealthState;
  /** Aborted with a ConnectError to end every call still running with that status (shutdown). */
  shutdownSignal?: AbortSignal;
  /** Extra plain-HTTP routes by path prefix (the OpenAI REST surface). */
  rest?: { prefix: string; handle: (req: Request, res: Response) => void };
  /** The web console's files, served under /console. */
  console?: ConsoleAssets;
  /** Where requests no route serves are noted (at debug, throttled); unnoted without one. */
  logger?: Logger;
  /**
   * Where RPCs refused before any interceptor ran (a unary body that does not decode or is too
   * large, a content type or HTTP method the method does not take) are recorded as calls: pairs
   * with the request interceptor, which records every other (src/api/envelope/early-refusals.ts).
   */
  earlyRefusals?: EarlyRefusals;
  /** Authenticates an RPC's key and takes a request from its rate before its body is read (./rpc-key-gate.ts); the auth interceptor does both without it. */
  keyGate?: RpcKeyGate;
}

/** Bodies above this are refused before they are parsed. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * protobuf-es' bound on message nesting while decoding (binary and JSON).
 * A Struct costs two levels per JSON level (Struct, then Value) in binary:
 * this lets every Struct field reach MAX_JSON_DEPTH, which the services then
 * enforce with a message naming the field; far deeper values stop here,
 * before they are built.
 */
const DECODE_RECURSION_LIMIT = 2 * MAX_JSON_DEPTH + 8;

/**
 * How deep the brackets of a JSON request body may nest, counted before
 * JSON.parse (./json-text-decoder.ts). The deepest body the services take is
 * a Struct field at MAX_JSON_DEPTH with the few messages around it
 * (`{"tools":[{"parameters":{…}}]}`: three more); protobuf-es would refuse a
 * Struct whose brackets nest near DECODE_RECURSION_LIMIT in any case (each
 * JSON level inside one costs a Value), and what nests past it in an unknown
 * field, which protobuf-es drops unread, is refused rather than parsed.
 */
export const JSON_BODY_DEPTH_LIMIT = DECODE_RECURSION_LIMIT;

/** One request handler for the whole port: /metrics, /healthz and / (what is served here), then CORS, REST, the console, then Connect (the lean path first for its methods). */
export function createHttpHandler(options: HttpHandlerOptions): (req: Request, res: Response) => void {
  checkStringsWithIsWellFormed();
  const connectOptions = {
    interceptors: options.interceptors,
    readMaxBytes: MAX_MESSAGE_BYTES,
    // Unknown fields are dropped unread: each one kept is an object (8 MiB of them, on the keyless health and reflection
    // services, built 440 MB and held the event loop for a second), and nothing reads them (reflection would echo them).
    binaryOptions: { recursionLimit: DECODE_RECURSION_LIMIT, readUnknownFields: false },
    // connect-es's JSON serializations decode with `textDecoder` (not in its option types): the nesting and object bounds run before JSON.parse.
    jsonOptions: { recursionLimit: DECODE_RECURSION_LIMIT, textDecoder: boundedJsonTextDecoder(JSON_BODY_DEPTH_LIMIT) },
    // Deadlines up to a day are honoured; a longer one is cut to a day before it is read (./deadline-cap.ts).
    maxTimeoutMs: MAX_DEADLINE_MS,
    shutdownSignal: options.shutdownSignal,
    // Named here so that the lean path negotiates the same.
    acceptCompression: ANSWER_COMPRESSIONS,
  };
  // Binary messages are counted before connect-es decodes them (JSON ones, by the text decoder above).
  const objectsBound = { acceptCompression: ANSWER_COMPRESSIONS, readMaxBytes: MAX_MESSAGE_BYTES, recursionLimit: DECODE_RECURSION_LIMIT };
  const handlers = new Map<string, UniversalHandler>();
  const connect = connectNodeAdapter({
    fallback: unrouted(handlers, options.rest?.prefix, options.metrics, options.logger),
    contextValues: requestContextValues,
    routes: (router) => {
      // Each method decodes JSON refusing enum names its input does not have (./json-enum-names.ts).
      options.routes(withJsonEnumNamesChecked(router, connectOptions.jsonOptions));
      // The adapter serves the router's handlers as they are after this callback.
      router.handlers.splice(0, router.handlers.length, ...router.handlers.map((handler) => withStalledAnswerReason(withProtocolRefusals(withRequestFaults(withUnreadBodyDrained(withBodyDeadline(withEnvelopeFlagsChecked(withObjectsBounded(withMissingMessageRefused(handler), objectsBound)), connectOptions.maxTimeoutMs)), options.earlyRefusals), options.earlyRefusals))));
      for (const handler of router.handlers) handlers.set(handler.requestPath, handler);
    },
    ...connectOptions,
  });
  const lean = createLeanRpc({
    ...connectOptions,
    methods: (options.leanMethods ?? []).map((hot) => ({ ...hot, fallback: handlers.get(`/${hot.spec.method.parent.typeName}/${hot.spec.method.name}`)! })),
    replay: replayToConnectEs,
    earlyRefusals: options.earlyRefusals,
  });
  // Scrapes share a render (it runs on the event loop, and by default anyone may scrape).
  const metricsText = new MetricsRenderCache(() => options.metrics.registry.metrics(), options.metricsRender);
  const landing = createLandingPage({
    restPrefix: options.rest?.prefix,
    services: [...new Set([...handlers.values()].map((handler) => handler.method.parent.typeName))],
    console: options.console && { built: options.console.built },
  });
  return (req, res) => {
    toOriginForm(req);
    joinRepeatedKeyHeaders(req);
    const path = (req.url ?? "/").split("?", 1)[0];
    // The operator's endpoints come before CORS: they need no key, so no web page
    // an operator happens to visit may read them (key ids, teams, spend).
    // HEAD as GET (load balancers probe with it): Node leaves the body out.
    const read = req.method === "GET" || req.method === "HEAD";
    if (read && path === "/metrics") {
      if (options.metricsAccess && !options.metricsAccess.allows(req.headers.authorization)) {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="metrics"', "content-type": "text/plain" }).end("/metrics needs the bearer token set in SWITCHBOARD_METRICS_TOKEN\n");
        return;
      }
      metricsText.text().then(
        (text) => res.writeHead(200, { "content-type": options.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (read && (path === "/healthz" || path === "/readyz")) {
      // What is degraded and why is named only to callers inside the network, or holding the metrics token (./health-disclosure.ts).
      const detailed = mayReadHealthDetail({ remoteAddress: req.socket.remoteAddress, header: (name) => [req.headers[name]].flat()[0] }, options.metricsAccess);
      const { httpStatus, body } = healthAnswer(options.health, path === "/readyz", detailed);
      res.writeHead(httpStatus, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    // The printed address itself, opened in a browser or curled: what is served here (./landing-page.ts).
    if (read && path === "/") {
      landing(req, res);
      return;
    }
    if (applyCors(options.corsOrigins, req, res)) return;
    if (options.rest && path?.startsWith(options.rest.prefix)) {
      options.rest.handle(req, res);
      return;
    }
    if (options.console && (path === CONSOLE_PATH || path?.startsWith(`${CONSOLE_PATH}/`))) {
      options.console.handle(req, res);
      return;
    }
    if (withoutAuthority(req, res)) return;
    capDeadlineHeaders(req.headers);
    const handler = handlers.get(path!);
    // Before the gate, which would charge it: the lean path never takes plain JSON to a stream either.
    if (plainJsonToStream(handler, req, res)) return;
    const serve = (): void => {
      // connect-es's writes (the lean path's replays included) would wait for ever on an answer closed under them (HTTP/1.1 and HTTP/2: ./waiting-writes.ts).
      failWaitingWritesOnClose(res);
      if (lean(req, res, path!)) return;
      if (path!.startsWith(ADMIN_PATH)) keepOutOfCaches(res);
      connect(req, res);
    };
    // A method the gateway has: its key admitted (or refused) before its request is read; any other path, connect-es refuses.
    if (!handler || !options.keyGate) return serve();
    void options.keyGate(req, res, handler)
      .then((admitted) => admitted && serve())
      // The gate answers its refusals; one it failed to write, or a serve() that threw, is no call to serve:
      // answered here, never left a rejection nothing handles (which ends the process).
      .catch((err: unknown) => unserved(res, path!, err, options.logger));
  };
}

/** A call the gate or `serve()` failed before it was served: a 500, or, its answer begun, cut short (a clean end would read as whole). */
function unserved(res: Response, path: string, err: unknown, logger: Logger | undefined): void {
  logger?.error({ path, error: err instanceof Error ? err.message : String(err) }, "an RPC failed before it was served");
  if (!res.headersSent) res.writeHead(500).end();
  else if ("stream" in res) res.stream.destroy();
  else res.destroy();
}

const ADMIN_PATH = `/${AdminService.typeName}/`;

/**
 * Admin answers carry new keys' secrets and every key's spend: no cache
 * (a browser's, a proxy's) may keep them, and no browser may read them as
 * anything but what they say they are.
 */
function keepOutOfCaches(res: Response): void {
  res.setHeader("cache-control", "no-store");
  res.setHeader("x-content-type-options", "nosniff");
}

/** How often, at most, a request no route serves is logged. */
const UNROUTED_LOG_EVERY_MS = 60_000;

/**
 * The answer to a request no route serves, counted as a request with method
 * "unknown" (never its path: a caller chooses it) and logged at debug, at
 * most once a minute, with its path cut short and its control characters
 * written out. An RPC's (a method path, or a gRPC content type) is told the
 * methods or services there are, in its protocol (./rpc-refusals.ts); a REST
 * path just outside the prefix, the path it probably meant, in its SDK's
 * shape (./rest-near-miss.ts); any other path gets a bare 404. (Unknown REST
 * paths inside the prefix are the REST envelope's: a call line and method
 * "REST unknown".)
 */
function unrouted(
  handlers: ReadonlyMap<string, UniversalHandler>,
  restPrefix: string | undefined,
  metrics: GatewayMetrics,
  logger: Logger | undefined,
): NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]> {
  const notes = logger && new ThrottledWarning(logger, "requests to a path no route serves, refused", UNROUTED_LOG_EVERY_MS, () => performance.now(), "debug");
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    metrics.recordRequest("unknown", "unknown", "unimplemented", 0);
    notes?.note(() => ({ method: printable(excerpt(req.method ?? "")), path: printable(excerpt(path)) }));
    const header = (name: string) => [req.headers[name]].flat()[0];
    const rpc = unknownMethod(path, header("content-type"), handlers.values());
    if (rpc) return writeRefusal(res, shapedRefusal({ path, header }, rpc, 404));
    const meant = restPrefix === undefined ? undefined : meantRestPath(path, restPrefix);
    if (meant !== undefined) return writeRefusal(res, shapedRefusal({ path: meant, header }, restNearMiss(req.method ?? "", path, meant, restPrefix!), 404));
    res.writeHead(404);
    res.end();
  };
}

/**
 * An absolute-form request line (`POST http://host/v1/models HTTP/1.1`), as
 * RFC 9112 §3.2.2 says a server must take it: routed by its path, its
 * authority taking the place of Host.
 */
function toOriginForm(req: Request): void {
  const target = absoluteTarget(req.url ?? "");
  if (!target) return;
  req.url = target.path;
  if (!("stream" in req)) req.headers.host = target.authority;
}

/**
 * An HTTP/1.0 request may come without `Host`, and any `Host` may hold what
 * no URL takes; connect-es builds the request's URL from it and throws out of
 * the request handler, which would end the process: refused here instead.
 * (HTTP/2 refuses a stream without `:authority` itself.)
 */
function withoutAuthority(req: Request, res: Response): boolean {
  const authority = "authority" in req ? req.authority : req.headers.host;
  if (authority && URL.canParse(`http://${authority}/`)) return false;
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("a request needs a valid Host header (HTTP/1.0 requests too)\n");
  return true;
}

/**
 * Plain JSON (a curl user's first try) to a streaming method: connect-es
 * answers a bare 415, which says nothing of what to send instead.
 */
function plainJsonToStream(handler: UniversalHandler | undefined, req: Request, res: Response): boolean {
  if (handler === undefined || handler.method.methodKind === "unary") return false;
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return false;
  const { method } = handler;
  const unary = method.parent.methods.find((other) => other.name === method.name.replace(/Stream$/, "") && other.methodKind === "unary");
  const why = `${method.name} is a stream: send "application/connect+json" with enveloped messages (buf curl, grpcurl and Connect clients do)${unary ? `, or call ${unary.name} for one answer` : ""}\n`;
  res.writeHead(415, { "content-type": "text/plain; charset=utf-8", "accept-post": "application/connect+json, application/connect+proto, application/grpc, application/grpc-web" }).end(why);
  return true;
}
