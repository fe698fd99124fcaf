// Images sent to a model the catalogue knows takes none (`imageInput: false`:
// DeepSeek's, Moonshot's v1, GLM-4's, gpt-3.5-turbo), refused before any
// vendor is called: the vendor would answer a 400 only after the round trip,
// and the call would end there, where a fallback of the route that sees
// images can serve it. A model nothing is known of is left to its vendor, as
// is one only a vendor's defaults describe (a fine-tune, a model newer than
// the catalogue).
import { partField } from "../providers/caller-fields.js";
import type { ChatParams } from "../providers/provider.js";

/**
 * The caller's first image part and why, for a model that takes no images
 * (InvalidArgument, unless a fallback takes them); undefined when the model
 * takes them, is not known not to, or the request has none. Named as the
 * caller wrote it (`messages.1.content.0` on `/v1/messages`), in the caller's
 * own count of messages.
 */
export function imageInputRefusal(params: Pick<ChatParams, "messages" | "insertedMessages" | "fieldNames">, imageInput: boolean | undefined, model: string): { field: string; reason: string } | undefined {
  if (imageInput !== false) return undefined;
  for (const [i, message] of params.messages.entries()) {
    const j = message.parts.findIndex((part) => part.part.case === "imageUrl");
    if (j >= 0) return { field: partField(params, i, j), reason: `${model} takes no image input` };
  }
  return undefined;
}
