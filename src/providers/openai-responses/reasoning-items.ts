// Reasoning as the Responses API carries it: `reasoning` items whose
// `encrypted_content` is opaque to the caller and comes back as it was on the
// next turn (Codex sends `include: ["reasoning.encrypted_content"]` and
// `store: false`). The gateway puts a vendor's signed block there, so that
// Anthropic's signatures survive a conversation held by a Responses client.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ReasoningBlockSchema, type ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";

/** Marks the gateway's own encoding, and its version. */
const PREFIX = "swb1.";

/** A block as `encrypted_content`: the text, the signature or the redacted data, base64url JSON. */
export function encryptedContent(block: ReasoningBlock): string {
  const fields: JsonObject = block.redacted ? { r: block.redacted } : { t: block.text, s: block.signature };
  return PREFIX + Buffer.from(JSON.stringify(fields)).toString("base64url");
}

/**
 * The block an `encrypted_content` holds, or undefined for one the gateway did
 * not write (another service's, encrypted for real): without its key there is
 * nothing to send on, and a vendor would refuse it anyway.
 */
export function blockOfEncrypted(content: string): ReasoningBlock | undefined {
  if (!content.startsWith(PREFIX)) return undefined;
  try {
    const fields = JSON.parse(Buffer.from(content.slice(PREFIX.length), "base64url").toString("utf8")) as { t?: unknown; s?: unknown; r?: unknown };
    if (typeof fields.r === "string") return create(ReasoningBlockSchema, { redacted: fields.r });
    if (typeof fields.t === "string" && typeof fields.s === "string") return create(ReasoningBlockSchema, { text: fields.t, signature: fields.s });
  } catch {
    // Not ours after all.
  }
  return undefined;
}

/**
 * OpenAI's own reasoning, as its Responses API returns it to the gateway (a
 * model served there: ModelTraits.endpoint): an `encrypted_content` only
 * OpenAI can read, kept as a redacted block (opaque, sent back as it is, as
 * OpenRouter's `reasoning.encrypted` carries it) with a mark of its own, so
 * that it goes back to OpenAI alone: Anthropic would refuse it as a
 * redacted_thinking block it did not write.
 */
const OPENAI_MARK = "openai.rs.";

export function openAIReasoningBlock(encrypted: string): ReasoningBlock {
  return create(ReasoningBlockSchema, { redacted: OPENAI_MARK + encrypted });
}

/** The encrypted_content an OpenAI block carries back to OpenAI; undefined for another vendor's block. */
export function openAIEncryptedContentOf(block: ReasoningBlock): string | undefined {
  return isOpenAIReasoning(block.redacted) ? block.redacted.slice(OPENAI_MARK.length) : undefined;
}

/** Whether a redacted block's data is OpenAI's encrypted reasoning (no other vendor can take it). */
export function isOpenAIReasoning(redacted: string): boolean {
  return redacted.startsWith(OPENAI_MARK);
}
