import type { ChatDelta, ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ChatStreamDelta } from "../providers/provider.js";

/**
 * A stream's delta event, the very message create() would make (a proto3
 * message is a plain object with its type name) without create()'s walk over
 * the schema's fields: a stream makes one per vendor event. Fields with
 * presence (log probabilities, the first delta's identity) are set only when
 * given, as create() leaves them. test/gateway/delta-response.test.ts holds it to create()'s.
 */
export function deltaResponse(event: ChatStreamDelta): ChatStreamResponse {
  const value: ChatDelta = {
    $typeName: "switchboard.v1.ChatDelta",
    content: event.content,
    toolCalls: event.toolCalls,
    reasoningContent: event.reasoning ?? "",
    refusal: event.refusal ?? "",
    reasoning: event.reasoningBlocks ?? [],
    reasoningSummarized: event.reasoningSummarized ?? false,
  };
  if (event.logprobs !== undefined) value.logprobs = event.logprobs;
  if (event.id !== undefined) value.id = event.id;
  if (event.vendorModel !== undefined) value.vendorModel = event.vendorModel;
  if (event.systemFingerprint !== undefined) value.systemFingerprint = event.systemFingerprint;
  if (event.serviceTier !== undefined) value.serviceTier = event.serviceTier;
  return { $typeName: "switchboard.v1.ChatStreamResponse", event: { case: "delta", value } };
}
