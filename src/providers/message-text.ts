import type { Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { unsupported } from "./upstream-error.js";

/**
 * The text of a message for text-only dialects: its content, or its text
 * parts joined. Images are refused rather than dropped, so a caller never gets
 * an answer to a prompt the model did not see.
 */
export function messageText(message: Message, provider: string): string {
  if (message.parts.length === 0) return message.content;
  const texts: string[] = [];
  for (const part of message.parts) {
    if (part.part.case === "imageUrl") throw unsupported(provider, "image content with this model's API");
    texts.push(part.part.value ?? "");
  }
  return texts.join("\n");
}
