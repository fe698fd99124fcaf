// A whole chat answer in the OpenAI shape, both ways: read from vendors that
// speak the dialect, and written for callers of the REST surface.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ErrorContext } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import type { ChatResult } from "../provider.js";
import { toOpenAIIdentity, vendorIdentityOf } from "./answer-identity.js";
import { lenientReader } from "./json-reader.js";
import { toLegacyFinishReason, toLegacyMessage } from "./legacy-functions.js";
import { fromOpenAILogprobs, toOpenAILogprobs } from "./logprobs.js";
import { fromOpenAIMessage, toOpenAIMessage } from "./messages.js";
import { toOpenAIReasoningFields } from "./reasoning.js";
import { finishReasonOf, fromOpenAIUsage, toOpenAIFinishReason, toOpenAIUsage } from "./usage.js";

/** A vendor's answer; a body without a choice cannot be read (bad_response). */
export function fromOpenAIChatCompletion(raw: unknown, ctx: ErrorContext): ChatResult {
  const read = lenientReader((field, problem) => {
    throw badResponse(ctx, `answered with ${field} that ${problem}`);
  });
  const completion = read.object(raw, "the answer");
  const choice = read.object(read.array(completion.choices, "choices")[0], "choices[0]");
  if (Object.keys(choice).length === 0) throw badResponse(ctx, "answered with no choices");
  const id = read.string(completion.id, "id");
  const message = fromOpenAIMessage(choice.message, ctx, id);
  const { usage, fault } = fromOpenAIUsage(completion.usage);
  return {
    id,
    message,
    finishReason: finishReasonOf(choice.finish_reason, message.refusal !== ""),
    usage,
    usageFault: fault,
    logprobs: fromOpenAILogprobs(choice.logprobs, "choices[0].logprobs", ctx),
    ...vendorIdentityOf(completion),
  };
}

/** The unified answer as `chat.completion`, for callers of the REST surface; in the legacy shape for a caller that asked with `functions`. */
export function toOpenAIChatCompletion(res: ChatResponse, created: number, legacyFunctions = false): JsonObject {
  const message: JsonObject = res.message ? { ...toOpenAIMessage(res.message, { fitIds: false }), ...toOpenAIReasoningFields(res.message) } : { role: "assistant", content: "" };
  if (legacyFunctions) toLegacyMessage(message);
  // The model as the vendor named it (gpt-4o-2024-08-06), else as it was sent.
  const out: JsonObject = { id: res.id || `chatcmpl-${res.requestId}`, object: "chat.completion", created, model: res.vendorModel || res.model };
  toOpenAIIdentity(out, res);
  const logprobs = res.logprobs ? toOpenAILogprobs(res.logprobs) : null;
  const reason = toOpenAIFinishReason(res.finishReason, Boolean(res.message?.refusal));
  out.choices = [{ index: 0, message, logprobs, finish_reason: legacyFunctions ? toLegacyFinishReason(reason) : reason }];
  out.usage = toOpenAIUsage(res.usage);
  return out;
}
