import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AIService, ListModelsResponseSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { callContextOf } from "./envelope/call-context-of.js";
import type { Gateway } from "../gateway/gateway.js";
import { checkJsonValues } from "./json-depth.js";
import { openOnRead } from "./stream-wrappers.js";
import { validateCallSize, validateChat, validateEmbed } from "./validate.js";

/** AIService: thin handlers that validate and hand over to the pipeline. */
export function createAIService(gateway: Gateway): ServiceImpl<typeof AIService> {
  return {
    async chat(req, ctx) {
      validateCallSize(req);
      checkJsonValues(req);
      validateChat(req);
      return gateway.chat(req, callContextOf(ctx));
    },
    chatStream(req, ctx) {
      return openOnRead(async () => {
        validateCallSize(req);
        checkJsonValues(req);
        validateChat(req);
        return (await gateway.chatStream(req, callContextOf(ctx))).responses;
      });
    },
    async embed(req, ctx) {
      validateEmbed(req);
      return gateway.embed(req, callContextOf(ctx));
    },
    async listModels(req, ctx) {
      return create(ListModelsResponseSchema, { models: await gateway.listModels(req.provider, callContextOf(ctx)) });
    },
  };
}
