import type { ChatDelta, ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";

/**
 * A stream's delta event, the very message create() would make (a proto3
 * message is a plain object with its type name) without create()'s walk over
 * the schema's fields: a stream makes one per vendor event.
 * test/gateway/delta-response.test.ts holds it to create()'s.
 */
export function deltaResponse(delta: Omit<ChatDelta, "$typeName">): ChatStreamResponse {
  return {
    $typeName: "switchboard.v1.ChatStreamResponse",
    event: {
      case: "delta",
      value: {
        $typeName: "switchboard.v1.ChatDelta",
        content: delta.content,
        toolCalls: delta.toolCalls,
        reasoningContent: delta.reasoningContent,
        refusal: delta.refusal,
        reasoning: delta.reasoning,
      },
    },
  };
}
