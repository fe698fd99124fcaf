import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { validateChat, validateEmbed } from "../../api/validate.js";
import type { Authenticator } from "../../auth/auth-interceptor.js";
import type { CallContext, CallInfo } from "../../gateway/call-context.js";
import { gatewayError, toConnectError } from "../../gateway/errors.js";
import type { Gateway } from "../../gateway/gateway.js";
import { startCallLog } from "../../observability/call-log.js";
import type { Logger } from "../../observability/logger.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { requestIdFrom } from "../../observability/request-interceptor.js";
import { chatRequestFromOpenAI, embedRequestFromOpenAI } from "./from-openai.js";
import { ChunkWriter, chatCompletion, embeddingList, errorBody, errorStatus, modelList, REQUEST_TOO_LARGE } from "./to-openai.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface RestDeps {
  gateway: Gateway;
  authenticator: Authenticator;
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * The OpenAI-compatible REST surface (`/v1/chat/completions`, `/v1/models`,
 * `/v1/embeddings`), so code written for the OpenAI SDKs only changes its base
 * URL and key. Same pipeline, same auth, same logs as the Connect services.
 */
export function createRestHandler(deps: RestDeps): (req: Request, res: Response) => void {
  return (req, res) => {
    const info: CallInfo = { requestId: requestIdFrom({ get: (name) => header(req, name) }) };
    const path = (req.url ?? "").split("?", 1)[0]!;
    const route = ROUTES[`${req.method} ${path}`];
    const finish = startCallLog(deps.logger, deps.metrics, `REST ${req.method} ${route ? path : "unknown"}`, info);
    res.setHeader("x-request-id", info.requestId);
    // The caller hanging up cancels the call, and with it the upstream request.
    const abort = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) abort.abort(new ConnectError("the client went away", Code.Canceled));
    });
    const run = async (): Promise<void> => {
      if (!route) throw new ConnectError(`no such endpoint: ${req.method} ${path}`, Code.NotFound);
      const principal = await deps.authenticator.authenticate(new Headers({ authorization: header(req, "authorization") ?? "", "x-api-key": header(req, "x-api-key") ?? "" }));
      const body = req.method === "POST" ? await readJson(req) : undefined;
      await route(deps, { principal, signal: abort.signal, info }, body, res);
    };
    run().then(
      () => finish(),
      (err: unknown) => {
        const error = toConnectError(err, abort.signal);
        finish(error);
        if (res.headersSent) {
          // Mid-stream: the status is gone; say it in the stream, as OpenAI does.
          if (!res.writableEnded) res.end(`data: ${JSON.stringify(errorBody(error))}\n\n`);
          return;
        }
        const headers: Record<string, string> = { "content-type": "application/json" };
        const retryAfter = error.metadata.get("retry-after");
        if (retryAfter) headers["retry-after"] = retryAfter;
        res.writeHead(errorStatus(error), headers).end(JSON.stringify(errorBody(error)));
      },
    );
  };
}

type Route = (deps: RestDeps, ctx: CallContext, body: unknown, res: Response) => Promise<void>;

const ROUTES: Record<string, Route> = {
  "GET /v1/models": async ({ gateway }, ctx, _body, res) => {
    sendJson(res, modelList(await gateway.listModels("", ctx)));
  },
  "POST /v1/embeddings": async ({ gateway }, ctx, body, res) => {
    const request = embedRequestFromOpenAI(body);
    validateEmbed(request);
    sendJson(res, embeddingList(await gateway.embed(request, ctx)));
  },
  "POST /v1/chat/completions": async ({ gateway }, ctx, body, res) => {
    const { request, stream, includeUsage } = chatRequestFromOpenAI(body);
    validateChat(request);
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      const answer = await gateway.chat(request, ctx);
      res.setHeader("x-switchboard-provider", answer.provider);
      sendJson(res, chatCompletion(answer, created));
      return;
    }
    const writer = new ChunkWriter(`chatcmpl-${ctx.info.requestId}`, request.model, created);
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
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw gatewayError(Code.ResourceExhausted, `the body is larger than ${MAX_BODY_BYTES} bytes`, REQUEST_TOO_LARGE);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ConnectError("the body is not valid JSON", Code.InvalidArgument);
  }
}
