import type { Gateway } from "../../gateway/gateway.js";
import { toAnthropicModel, toAnthropicModelPage } from "../../providers/anthropic/model-list.js";
import { pathId } from "../envelope/path-id.js";
import { header, type RestSurface } from "../envelope/rest-envelope.js";
import { sendJson } from "../rest-answers.js";
import { VERSION_HEADER, writeAnthropicError } from "./messages-surface.js";

const MODELS = "/v1/models";
const MODEL_PATH = "/v1/models/";

/**
 * `GET /v1/models` and `GET /v1/models/{model}` in Anthropic's shape, for the
 * Anthropic SDKs (`client.models.list()`, `.retrieve()`): they send
 * `anthropic-version` on every call, which OpenAI's SDKs never do, so the same
 * paths answer each SDK in its own shape. The same models as the OpenAI surface
 * lists, within the key's scope.
 */
export function createAnthropicModelsSurface({ gateway }: { gateway: Gateway }): RestSurface {
  return {
    route(method, path) {
      if (method !== "GET") return undefined;
      if (path === MODELS) {
        return { pattern: MODELS, handle: async ({ ctx, req, res }) => sendJson(res, toAnthropicModelPage(await gateway.listModels("", ctx), query(req.url))) };
      }
      if (!path.startsWith(MODEL_PATH) || path.length === MODEL_PATH.length) return undefined;
      const id = pathId(path, MODEL_PATH);
      return { pattern: `${MODEL_PATH}{model}`, handle: async ({ ctx, res }) => sendJson(res, toAnthropicModel(await gateway.describeModel(id, ctx), id)) };
    },
    writeError: writeAnthropicError,
    claims: (_path, req) => header(req, VERSION_HEADER) !== null,
    requestIdHeader: "request-id",
  };
}

function query(url: string | undefined): URLSearchParams {
  const at = (url ?? "").indexOf("?");
  return new URLSearchParams(at < 0 ? "" : url!.slice(at + 1));
}
