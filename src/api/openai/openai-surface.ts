import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MAX_JSON_DEPTH, nestsDeeperThan, TOO_DEEP } from "../json-depth.js";
import { validateChat, validateEmbed } from "../validate.js";
import type { Authenticator } from "../../auth/auth-interceptor.js";
import type { CallContext, CallInfo } from "../../gateway/call-context.js";
import { toConnectError } from "../../gateway/errors.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { Gateway } from "../../gateway/gateway.js";
import type { ProviderHealth } from "../../gateway/provider-health.js";
import { startCallLog } from "../../observability/call-log.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { requestIdFrom } from "../../observability/request-interceptor.js";
import { OpenAIChunkWriter } from "../../providers/openai/chat-chunks.js";
import { toOpenAIChatCompletion } from "../../providers/openai/chat-completion.js";
import { chatRequestFromOpenAI } from "../../providers/openai/chat-request.js";
import { embeddingRequestFromOpenAI, toOpenAIEmbeddingList } from "../../providers/openai/embeddings.js";
import { REQUEST_TOO_LARGE, toOpenAIError } from "../../providers/openai/errors.js";
import { toOpenAIModel, toOpenAIModelList } from "../../providers/openai/models.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface RestDeps {
  gateway: Gateway;
  authenticator: Authenticator;
  logger: Logger;
  metrics: GatewayMetrics;
  providerHealth: ProviderHealth;
  /** Aborted with a ConnectError to end every call still running with that status (shutdown; a stream gets an error event). */
  shutdownSignal?: AbortSignal;
}

/**
 * The OpenAI-compatible REST surface (`/v1/chat/completions`, `/v1/models`,
 * `/v1/models/{model}`, `/v1/embeddings`), so code written for the OpenAI
 * SDKs only changes its base URL and key. Same pipeline, same auth, same logs
 * as the Connect services. Every answer, errors included, carries `x-request-id`.
 */
export function createRestHandler(deps: RestDeps): (req: Request, res: Response) => void {
  return (req, res) => {
    const info: CallInfo = { requestId: requestIdFrom({ get: (name) => header(req, name) }) };
    const path = (req.url ?? "").split("?", 1)[0]!;
    const found = findRoute(req.method ?? "", path);
    const finish = startCallLog(deps.logger, deps.metrics, `REST ${req.method} ${found?.pattern ?? "unknown"}`, info);
    res.setHeader("x-request-id", info.requestId);
    // The caller hanging up cancels the call, and with it the upstream request.
    const abort = new AbortController();
    const stop = (): void => abort.abort(deps.shutdownSignal?.reason);
    if (deps.shutdownSignal?.aborted) stop();
    deps.shutdownSignal?.addEventListener("abort", stop, { once: true });
    res.once("close", () => {
      deps.shutdownSignal?.removeEventListener("abort", stop);
      if (!res.writableFinished) abort.abort(gatewayError(Code.Canceled, "the client went away", "CANCELLED"));
    });
    const run = async (): Promise<void> => {
      if (!found) throw gatewayError(Code.NotFound, `no such endpoint: ${req.method} ${path}`, "ENDPOINT_NOT_FOUND", { method: req.method ?? "", path });
      const principal = await deps.authenticator.authenticate(new Headers({ authorization: header(req, "authorization") ?? "", "x-api-key": header(req, "x-api-key") ?? "" }));
      const body = req.method === "POST" ? await readJson(req) : undefined;
      await found.route(deps, { principal, signal: abort.signal, info }, body, res);
    };
    run().then(
      () => finish(),
      (err: unknown) => {
        const error = toConnectError(err, abort.signal);
        finish(error);
        const { status, headers, body } = toOpenAIError(error);
        if (res.headersSent) {
          // Mid-stream: the status is gone; say it in the stream, as OpenAI does.
          if (!res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\n`);
          return;
        }
        res.writeHead(status, headers).end(JSON.stringify(body));
      },
    );
  };
}

type Route = (deps: RestDeps, ctx: CallContext, body: unknown, res: Response) => Promise<void>;

/** The header that names configured providers unable to serve now, on model listings (why: /healthz). */
const UNAVAILABLE_PROVIDERS_HEADER = "x-switchboard-unavailable-providers";

const ROUTES: Record<string, Route> = {
  "GET /v1/models": async ({ gateway, providerHealth }, ctx, _body, res) => {
    const models = await gateway.listModels("", ctx);
    // A provider without a usable key lists no models: say which, rather than an unexplained gap.
    const unavailable = providerHealth.degraded();
    if (unavailable.length > 0) res.setHeader(UNAVAILABLE_PROVIDERS_HEADER, unavailable.join(", "));
    sendJson(res, toOpenAIModelList(models));
  },
  "POST /v1/embeddings": async ({ gateway }, ctx, body, res) => {
    const { request, encoding } = embeddingRequestFromOpenAI(body);
    validateEmbed(request);
    sendJson(res, toOpenAIEmbeddingList(await gateway.embed(request, ctx), encoding));
  },
  "POST /v1/chat/completions": async ({ gateway }, ctx, body, res) => {
    const { request, stream, includeUsage } = chatRequestFromOpenAI(body);
    validateChat(request);
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      const answer = await gateway.chat(request, ctx);
      res.setHeader("x-switchboard-provider", answer.provider);
      sendJson(res, toOpenAIChatCompletion(answer, created));
      return;
    }
    const writer = new OpenAIChunkWriter(`chatcmpl-${ctx.info.requestId}`, request.model, created);
    for await (const event of gateway.chatStream(request, ctx)) {
      if (!res.headersSent) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-switchboard-provider": ctx.info.provider ?? "" });
      }
      if (event.event.case === "delta") write(res, writer.delta(event.event.value));
      else if (event.event.case === "summary") {
        write(res, writer.finish(event.event.value));
        if (includeUsage) write(res, writer.usage(event.event.value));
      }
    }
    res.end("data: [DONE]\n\n");
  },
};

const MODEL_PATH = "/v1/models/";

/**
 * `GET /v1/models/{model}`: the model, when the key may see it; a 404
 * MODEL_NOT_FOUND otherwise. Ids may hold a "/" ("ollama/llama3.1"), sent
 * as it is or percent-encoded (openai-node encodes it).
 */
function retrieveModel(id: string): Route {
  return async ({ gateway }, ctx, _body, res) => {
    const model = (await gateway.listModels("", ctx)).find((m) => m.id === id || `${m.provider}/${m.upstreamModel}` === id);
    if (!model) {
      throw gatewayError(Code.NotFound, `model "${id}" is not available to this key; GET /v1/models lists the models it can use`, "MODEL_NOT_FOUND", { model: id });
    }
    sendJson(res, toOpenAIModel(model, id));
  };
}

/** The route for a request, and its path pattern (the log's and the metrics' method name: never a model id). */
function findRoute(method: string, path: string): { route: Route; pattern: string } | undefined {
  const exact = ROUTES[`${method} ${path}`];
  if (exact) return { route: exact, pattern: path };
  if (method !== "GET" || !path.startsWith(MODEL_PATH) || path.length === MODEL_PATH.length) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(path.slice(MODEL_PATH.length));
  } catch {
    id = path.slice(MODEL_PATH.length);
  }
  return { route: retrieveModel(id), pattern: `${MODEL_PATH}{model}` };
}

function write(res: Response, chunk: JsonObject): void {
  (res as ServerResponse).write(`data: ${JSON.stringify(chunk)}\n\n`);
}

function sendJson(res: Response, body: JsonObject): void {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function header(req: Request, name: string): string | null {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

async function readJson(req: Request): Promise<unknown> {
  const type = header(req, "content-type") ?? "";
  if (!type.includes("json")) throw new ConnectError("the body must be JSON (content-type: application/json)", Code.InvalidArgument);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) {
    // The rest is read and dropped, not left unread: its connection would hang (see server/unread-body.ts).
    req.resume();
    throw gatewayError(Code.ResourceExhausted, `the body is larger than ${MAX_BODY_BYTES} bytes`, REQUEST_TOO_LARGE);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ConnectError("the body is not valid JSON", Code.InvalidArgument);
  }
  // JSON.parse copes with any nesting; what reads the body next (and JSON.stringify to vendors) may not.
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new ConnectError(`the body ${TOO_DEEP}`, Code.InvalidArgument);
  return body;
}
