import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, type ConnectError } from "@connectrpc/connect";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError, METHOD_NOT_ALLOWED } from "../../common/gateway-error.js";
import type { CallContext } from "../../gateway/call-context.js";
import { toConnectError } from "../../gateway/errors.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import type { Tracing } from "../../observability/tracing.js";
import type { CallFeed } from "./call-feed.js";
import { startCallLog } from "./call-log.js";
import { openCallRecord, pipelineContext } from "./call-record.js";
import { readJsonBody } from "./json-body.js";
import type { KeyGate } from "./key-gate.js";
import { withKeysMasked } from "./masked-error.js";
import { MAX_DEADLINE_MS } from "../../common/contract.js";
import { answerStallCut } from "../../server/slow-client.js";

export type RestRequest = IncomingMessage | Http2ServerRequest;
export type RestResponse = ServerResponse | Http2ServerResponse;

/** One call on a REST surface, once the envelope has authenticated it and read its body. */
export interface RestCall {
  req: RestRequest;
  res: RestResponse;
  ctx: CallContext;
  /** The parsed JSON body of a POST; undefined otherwise. */
  body: unknown;
}

export interface RestRoute {
  /** The path as logs and metrics name it: a pattern, never an id ("/v1/models/{model}"). */
  pattern: string;
  /** A POST that takes no body (an action on a resource, such as a cancel): none is read, whatever the client sends. */
  takesNoBody?: boolean;
  handle(call: RestCall): Promise<void>;
}

/** A REST API a client speaks (OpenAI's, Anthropic's): its routes and how it words a failure. */
export interface RestSurface {
  route(method: string, path: string): RestRoute | undefined;
  /** Writes a failure the surface's way: a status and body, or, once a stream has begun, an event in it. */
  writeError(res: RestResponse, error: ConnectError): void;
  /** Whether a request no route matched is still this surface's to refuse, in its shape (a path under its prefix); else the first surface's. */
  claims?(path: string, req: RestRequest): boolean;
  /** Where its SDKs read the request id, besides `x-request-id` (Anthropic's: `request-id`). */
  requestIdHeader?: string;
}

export interface RestEnvelopeDeps {
  /** Authenticates the call's key and takes a request from its rate, before its body is read. */
  gate: KeyGate;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Aborted with a ConnectError to end every call still running with that status (shutdown). */
  shutdownSignal?: AbortSignal;
  /** A span per call, continuing the caller's trace; none when unset. */
  tracing?: Tracing;
  /** Where finished calls go for live views (AdminService.WatchCalls). */
  feed?: CallFeed;
}

/**
 * What every REST call gets, whichever surface: a request id (the caller's
 * `x-request-id` when sane, returned on every answer, and in the header the
 * surface's SDKs read it from), authentication by
 * gateway key and a request taken from its rate (any call: before a body is
 * read, before a read's work is done), the body read within bounds, a deadline when the caller's SDK
 * says how long it will wait (`x-stainless-timeout`, in seconds, as the
 * OpenAI and Anthropic SDKs send it) for the answer to begin, cancellation when the caller hangs up
 * or the gateway shuts down, a span continuing the caller's trace (W3C
 * `traceparent`; its id returned in `x-trace-id` while tracing is on), and
 * one log line with the request metrics. The same envelope as the Connect
 * interceptors give the typed API.
 */
export function createRestEnvelope(surfaces: readonly RestSurface[], deps: RestEnvelopeDeps): (req: RestRequest, res: RestResponse) => void {
  return (req, res) => {
    const method = req.method ?? "";
    const path = (req.url ?? "").split("?", 1)[0]!;
    // A surface that claims the request (its SDK's header) answers a path it shares with others in its own shape.
    const routed = (surface: RestSurface) => ({ surface, route: surface.route(method, path) });
    const found = surfaces.filter((surface) => surface.claims?.(path, req)).map(routed).find((match) => match.route) ??
      surfaces.map(routed).find((match) => match.route) ?? {
      surface: surfaces.find((surface) => surface.claims?.(path, req)) ?? surfaces[0]!,
      route: undefined,
    };
    // Only a matched route names the call: its name is a metric label, and HTTP/2 lets a caller send any token as its method.
    const record = openCallRecord(found.route ? `REST ${method} ${found.route.pattern}` : "REST unknown", "rest", req, header, deps.tracing);
    const finish = startCallLog(deps.logger, deps.metrics, record, deps.feed);
    res.setHeader("x-request-id", record.requestId);
    if (found.surface.requestIdHeader) res.setHeader(found.surface.requestIdHeader, record.requestId);
    // Named once the key was checked, which decides whether the call continues the caller's trace (see Tracing).
    const nameTrace = () => {
      const traceHeaders = record.trace.responseHeaders;
      if (traceHeaders && !res.headersSent) for (const name in traceHeaders) res.setHeader(name, traceHeaders[name]!);
    };
    const deadline = deadlineOf(header(req, "x-stainless-timeout"));
    const cancel = cancellation(res, deps.shutdownSignal, deadline);
    const run = async (): Promise<void> => {
      if (!found.route) throw unrouted(surfaces, method, path, res);
      // Every call takes its request from the key's rate here, refused later or not: a key past its rate is refused
      // before its body is read and parsed, and before a read (a stored response, its input items) does its work.
      const principal = await deps.gate({ get: (name) => header(req, name) }, (authenticated) => (record.principal = authenticated), req.socket.remoteAddress);
      nameTrace();
      const ctx = pipelineContext(record, principal, cancel.signal, deadline);
      const readsBody = method === "POST" && !found.route.takesNoBody;
      // The cancel signal ends the read too: a stream reset during the gate never tells the request again.
      const body = readsBody ? await readJsonBody(req, header(req, "content-type") ?? "", cancel.signal) : undefined;
      await found.route.handle({ req, res, body, ctx });
    };
    run().then(
      () => {
        cancel.done();
        finish();
      },
      (err: unknown) => {
        cancel.done();
        const error = withKeysMasked(toConnectError(err, cancel.signal));
        nameTrace();
        finish(error);
        found.surface.writeError(res, error);
      },
    );
  };
}

/** Methods a REST route may answer to: what a wrong method is told it may use instead. */
const ROUTED_METHODS = ["GET", "POST", "DELETE"] as const;

/** The error for a request no route takes: 405 with `Allow` when the path has routes under other methods, else 404. */
function unrouted(surfaces: readonly RestSurface[], method: string, path: string, res: RestResponse): ConnectError {
  const quoted = { method: excerpt(method), path: excerpt(path) };
  const allowed = ROUTED_METHODS.filter((other) => other !== method && surfaces.some((surface) => surface.route(other, path)));
  if (allowed.length === 0) {
    // `/v1/v1/messages`: an SDK that adds /v1 itself (Anthropic's) was given a base URL that ends in it.
    const doubled = /^(\/[^/]+)\1\//.exec(path)?.[1];
    const hint = doubled ? `; did you mean ${excerpt(path.slice(doubled.length))}? (Anthropic's SDKs add ${doubled} themselves: their base URL is the gateway's address alone)` : "";
    return gatewayError(Code.NotFound, `no such endpoint: ${quoted.method} ${quoted.path}${hint}`, "ENDPOINT_NOT_FOUND", quoted);
  }
  res.setHeader("allow", allowed.join(", "));
  return gatewayError(Code.Unimplemented, `${quoted.path} does not take ${quoted.method}; it takes ${allowed.join(", ")}`, METHOD_NOT_ALLOWED, { ...quoted, allowed: allowed.join(", ") });
}

/** The caller's deadline from the seconds its SDK says it will wait; none for a missing or senseless value. */
function deadlineOf(seconds: string | null): number | undefined {
  if (seconds === null || !/^\d+(\.\d+)?$/.test(seconds.trim())) return undefined;
  const ms = Math.min(Number(seconds) * 1000, MAX_DEADLINE_MS);
  return ms > 0 ? Date.now() + ms : undefined;
}

/**
 * Fires when the caller hangs up, the gateway shuts down, or the deadline
 * passes before the answer has begun; `done` releases it. The SDKs time only
 * their wait for the response's head (their timer stops once `fetch`
 * resolves), so the deadline bounds what they bound: a unary answer, whose head
 * goes out with it, and a stream until its head goes out with its first
 * event. A stream under way runs until its vendor ends it; the silence and
 * answer-stall bounds still guard it.
 */
function cancellation(res: RestResponse, shutdown: AbortSignal | undefined, deadline: number | undefined): { signal: AbortSignal; done(): void } {
  const abort = new AbortController();
  const stop = (): void => abort.abort(shutdown?.reason);
  if (shutdown?.aborted) stop();
  shutdown?.addEventListener("abort", stop, { once: true });
  const passed = (): void => {
    if (!res.headersSent) abort.abort(gatewayError(Code.DeadlineExceeded, "the caller's deadline (x-stainless-timeout) passed before the answer began", "DEADLINE_EXCEEDED"));
  };
  const timer = deadline === undefined ? undefined : setTimeout(passed, deadline - Date.now());
  const done = (): void => {
    clearTimeout(timer);
    shutdown?.removeEventListener("abort", stop);
  };
  res.once("close", () => {
    done();
    // The gateway's cut of a client that stopped reading (server/answer-stalls.ts) is no hang-up of the client's.
    if (!delivered(res)) abort.abort(answerStallCut(res) ?? gatewayError(Code.Canceled, "the client went away", "CANCELLED"));
  });
  return { signal: abort.signal, done };
}

/**
 * Whether the whole answer went out. On HTTP/2 Node reports a stream the
 * client reset (RST_STREAM: how h2 clients and proxies cancel) as finished,
 * so its reset code says which it was.
 */
function delivered(res: RestResponse): boolean {
  return res.writableFinished && !("stream" in res && res.stream.rstCode);
}

export function header(req: RestRequest, name: string): string | null {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}
