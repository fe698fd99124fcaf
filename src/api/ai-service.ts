import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { AIService, ListModelsResponseSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { principalKey } from "../auth/principal.js";
import { callInfoKey, type CallContext } from "../gateway/call-context.js";
import type { Gateway } from "../gateway/gateway.js";
import { checkJsonDepth } from "./json-depth.js";
import { validateChat, validateEmbed } from "./validate.js";

/** The call as the pipeline sees it, built from Connect's handler context. */
export function callContext(ctx: HandlerContext): CallContext {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new ConnectError("not authenticated", Code.Unauthenticated);
  const timeoutMs = ctx.timeoutMs();
  return { principal, signal: ctx.signal, deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs, info: ctx.values.get(callInfoKey) };
}

/** AIService: thin handlers that validate and hand over to the pipeline. */
export function createAIService(gateway: Gateway): ServiceImpl<typeof AIService> {
  return {
    async chat(req, ctx) {
      checkJsonDepth(req);
      validateChat(req);
      return gateway.chat(req, callContext(ctx));
    },
    async *chatStream(req, ctx) {
      checkJsonDepth(req);
      validateChat(req);
      yield* gateway.chatStream(req, callContext(ctx));
    },
    async embed(req, ctx) {
      validateEmbed(req);
      return gateway.embed(req, callContext(ctx));
    },
    async listModels(req, ctx) {
      return create(ListModelsResponseSchema, { models: await gateway.listModels(req.provider, callContext(ctx)) });
    },
  };
}
