import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ChatResponseSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { MessageSchema, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { CacheableAnswer } from "../gateway/response-cache.js";

/**
 * A cached answer's bytes: the contract's own ChatResponse in binary, holding
 * what the vendor said and who said it (provider and model), nothing about
 * the call that got it (request id, attempts, key). The log probabilities,
 * when asked for, are kept as the vendor gave them: one per token, once.
 * Compact, and it evolves
 * the way the contract does: an answer field added later is kept as well.
 */
export function encodeAnswer(answer: CacheableAnswer): Uint8Array {
  return toBinary(
    ChatResponseSchema,
    create(ChatResponseSchema, {
      id: answer.id,
      message: answer.message,
      finishReason: answer.finishReason,
      stopSequence: answer.stopSequence,
      usage: answer.usage,
      vendorModel: answer.vendorModel,
      systemFingerprint: answer.systemFingerprint,
      serviceTier: answer.serviceTier,
      logprobs: answer.logprobs,
      provider: answer.served.provider,
      model: answer.served.upstreamModel,
    }),
  );
}

/** A fresh answer from cached bytes (each hit gets its own objects). */
export function decodeAnswer(bytes: Uint8Array): CacheableAnswer {
  const response = fromBinary(ChatResponseSchema, bytes);
  return {
    id: response.id,
    message: response.message ?? create(MessageSchema, {}),
    finishReason: response.finishReason,
    stopSequence: response.stopSequence,
    usage: response.usage ?? create(UsageSchema, {}),
    vendorModel: response.vendorModel,
    systemFingerprint: response.systemFingerprint,
    serviceTier: response.serviceTier,
    logprobs: response.logprobs,
    served: { provider: response.provider, upstreamModel: response.model },
  };
}
