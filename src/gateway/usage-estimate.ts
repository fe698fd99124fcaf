import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "../providers/provider.js";

/**
 * A rough token count for when a vendor reports none (about 4 characters a
 * token, the usual rule of thumb): better than recording zero for budgets.
 */
export function estimateUsage(params: Pick<ChatParams, "messages">, completion: string): Usage {
  let promptChars = 0;
  for (const message of params.messages) {
    promptChars += message.content.length;
    for (const part of message.parts) if (part.part.case === "text") promptChars += part.part.value.length;
  }
  const promptTokens = Math.ceil(promptChars / 4) + 3 * params.messages.length;
  const completionTokens = Math.ceil(completion.length / 4);
  return create(UsageSchema, { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens });
}

/** Prompt tokens plus the completion the caller allows, for token rate limits before the call. */
export function estimateTokens(params: Pick<ChatParams, "messages" | "maxTokens">): number {
  return estimateUsage(params, "").promptTokens + (params.maxTokens ?? 256);
}
