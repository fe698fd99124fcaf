import type { ConnectError } from "@connectrpc/connect";
import type { Gateway } from "../../gateway/gateway.js";
import { pathId } from "../envelope/path-id.js";
import type { ProviderHealth } from "../../gateway/provider-health.js";
import { OpenAIChunkWriter } from "../../providers/openai/chat-chunks.js";
import { toOpenAIChatCompletion } from "../../providers/openai/chat-completion.js";
import { chatRequestFromOpenAI } from "../../providers/openai/chat-request.js";
import { embeddingRequestFromOpenAI, toOpenAIEmbeddingList } from "../../providers/openai/embeddings.js";
import { toOpenAIError } from "../../providers/openai/errors.js";
import { toOpenAIModel, toOpenAIModelList } from "../../providers/openai/models.js";
import type { RestCall, RestResponse, RestRoute, RestSurface } from "../envelope/rest-envelope.js";
import { answerHeaders, cacheControlOf, drained, sendJson, streamHeaders, writeEvent, writeEventJson } from "../rest-answers.js";
import { validateChat, validateEmbed } from "../validate.js";
import { TurnWrites } from "../../server/turn-writes.js";

export interface OpenAISurfaceDeps {
  gateway: Gateway;
  providerHealth: ProviderHealth;
}

/** The header that names configured providers unable to serve now, on model listings (why: /healthz). */
const UNAVAILABLE_PROVIDERS_HEADER = "x-switchboard-unavailable-providers";

const MODEL_PATH = "/v1/models/";

/**
 * The OpenAI-compatible REST surface (`/v1/chat/completions`, `/v1/models`,
 * `/v1/models/{model}`, `/v1/embeddings`), so code written for the OpenAI
 * SDKs only changes its base URL and key. The OpenAI codec reads the
 * requests and writes the answers; the pipeline is the same as every surface's.
 */
export function createOpenAISurface({ gateway, providerHealth }: OpenAISurfaceDeps): RestSurface {
  const routes: Record<string, RestRoute["handle"]> = {
    "GET /v1/models": async ({ ctx, res }) => {
      const models = await gateway.listModels("", ctx);
      // A provider without a usable key lists no models: say which, rather than an unexplained gap.
      const unavailable = providerHealth.degraded();
      if (unavailable.length > 0) res.setHeader(UNAVAILABLE_PROVIDERS_HEADER, unavailable.join(", "));
      sendJson(res, toOpenAIModelList(models));
    },
    "POST /v1/embeddings": async ({ ctx, body, res }) => {
      const { request, encoding } = embeddingRequestFromOpenAI(body);
      validateEmbed(request);
      sendJson(res, toOpenAIEmbeddingList(await gateway.embed(request, ctx), encoding));
    },
    "POST /v1/chat/completions": (call) => chatCompletions(gateway, call),
  };
  return {
    route(method, path) {
      const exact = routes[`${method} ${path}`];
      if (exact) return { pattern: path, handle: exact };
      if (method !== "GET" || !path.startsWith(MODEL_PATH) || path.length === MODEL_PATH.length) return undefined;
      return { pattern: `${MODEL_PATH}{model}`, handle: (call) => retrieveModel(gateway, pathId(path, MODEL_PATH), call) };
    },
    writeError(res, error) {
      writeOpenAIError(res, error);
    },
  };
}

async function chatCompletions(gateway: Gateway, { ctx, body, req, res }: RestCall): Promise<void> {
  const { request, stream, includeUsage, legacyFunctions } = chatRequestFromOpenAI(body);
  request.cacheControl = cacheControlOf(req);
  validateChat(request);
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    const answer = await gateway.chat(request, ctx);
    sendJson(res, toOpenAIChatCompletion(answer, created, legacyFunctions), answerHeaders(answer));
    return;
  }
  const streamed = await gateway.chatStream(request, ctx);
  // Each chunk names the answer as its vendor did, from the first event on; where it did not: the gateway's id, and the model the vendor was sent (as a whole answer's `model`).
  const writer = new OpenAIChunkWriter(created, () => ({ id: `chatcmpl-${ctx.requestId}`, model: streamed.servingModel() ?? request.model }), legacyFunctions);
  // The events of a burst leave in one write; a failure's event (writeOpenAIError) after them.
  const out = new TurnWrites(res);
  try {
    for await (const event of streamed.responses) {
      if (!res.headersSent) {
        res.writeHead(200, streamHeaders(streamed));
      }
      // The next event is taken from the vendor only once the client has taken this one (rest-answers.ts, drained).
      let flowing = true;
      if (event.event.case === "delta") {
        const opening = writer.opening(event.event.value);
        if (opening) writeEvent(out, opening);
        flowing = writeEventJson(out, writer.deltaJson(event.event.value));
      }
      else if (event.event.case === "summary") {
        flowing = writeEvent(out, writer.finish(event.event.value));
        if (includeUsage) flowing = writeEvent(out, writer.usage(event.event.value)) && flowing;
      }
      if (!flowing) await drained(res, ctx.signal);
    }
  } catch (err) {
    out.flush();
    throw err;
  }
  out.end("data: [DONE]\n\n");
}

/**
 * `GET /v1/models/{model}`: the model a chat naming it would be served by,
 * listed or not (a fine-tune, a dated snapshot), when the key may call it; a
 * 404 MODEL_NOT_FOUND saying why otherwise. Ids may hold a "/"
 * ("ollama/llama3.1"), sent as it is or percent-encoded (openai-node encodes it).
 */
async function retrieveModel(gateway: Gateway, id: string, { ctx, res }: RestCall): Promise<void> {
  sendJson(res, toOpenAIModel(await gateway.describeModel(id, ctx), id));
}

/** A failure as the OpenAI SDKs read it; mid-stream, as OpenAI does, an error event. */
function writeOpenAIError(res: RestResponse, error: ConnectError): void {
  const { status, headers, body } = toOpenAIError(error);
  if (res.headersSent) {
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\n`);
    return;
  }
  res.writeHead(status, headers).end(JSON.stringify(body));
}
