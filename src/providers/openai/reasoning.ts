// Reasoning and refusals in the OpenAI shape, both ways: the reasoning
// request as each vendor of the dialect names it, the reasoning text
// (`reasoning_content`, as DeepSeek and Qwen return it) and signed blocks
// (`reasoning_details`, OpenRouter's shape) in messages, and `refusal`.
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, ReasoningConfigSchema, ReasoningEffort, type ReasoningBlock, type ReasoningConfig } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ModelTraits } from "../model-traits.js";
import type { ChatParams } from "../provider.js";
import { EFFORT_SCALE, EFFORT_VALUES, effortName } from "../reasoning.js";
import type { JsonReader } from "./json-reader.js";
import { ownEntry } from "../../common/own-entry.js";

/**
 * The reasoning request's fields: `reasoning_effort` (OpenAI, DeepSeek), a
 * switch (`thinking: {type: "enabled"}` for DeepSeek and Zhipu,
 * `enable_thinking` for Qwen) and a budget (`thinking_budget`), as the
 * model's traits name them; `reasoning_effort` for a model nothing is known of.
 */
export function toOpenAIReasoning(params: Pick<ChatParams, "reasoning">, traits: ModelTraits): JsonObject {
  if (!params.reasoning) return traits.reasoningOff ? reasoningSwitchOff(traits) : {};
  const out: JsonObject = {};
  if (traits.reasoningSwitch === "thinking") out.thinking = { type: "enabled" };
  if (traits.reasoningSwitch === "enable_thinking") out.enable_thinking = true;
  const effortField = traits.reasoningEffortField ?? (traits.reasoningSwitch || traits.reasoningBudgetField ? undefined : "reasoning_effort");
  const effort = effortName(params);
  if (effortField && effort) out[effortField] = effort;
  const budget = params.reasoning.budgetTokens;
  if (traits.reasoningBudgetField && budget !== undefined) out[traits.reasoningBudgetField] = budget;
  return out;
}

/** The model's switch, off: for a model that reasons unless told not to. */
function reasoningSwitchOff(traits: ModelTraits): JsonObject {
  if (traits.reasoningSwitch === "thinking") return { thinking: { type: "disabled" } };
  if (traits.reasoningSwitch === "enable_thinking") return { enable_thinking: false };
  return {};
}

/** What the effort fields take, for the message refusing any other: "none" and every effort of the contract. */
const ACCEPTED = ["none", ...EFFORT_SCALE].map((name) => `"${name}"`).join(", ");

/**
 * A caller's reasoning request: `reasoning_effort` (OpenAI's), or
 * `reasoning: {effort, max_tokens}` (OpenRouter's, which can give a budget).
 * "none" asks for no reasoning; "minimal", "xhigh" and "max" are read as
 * themselves, and the catalogue fits them to the model (xhigh to high where
 * it takes no xhigh, and says so).
 */
export function readOpenAIReasoning(body: JsonObject, reader: JsonReader): ReasoningConfig | undefined {
  const nested = reader.object(body.reasoning, "reasoning");
  const [field, raw] = body.reasoning_effort !== undefined && body.reasoning_effort !== null ? ["reasoning_effort", body.reasoning_effort] : ["reasoning.effort", nested.effort];
  const name = reader.string(raw, field);
  const budget = reader.number(nested.max_tokens, "reasoning.max_tokens");
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 1 && budget <= 2_147_483_647)) reader.reject("reasoning.max_tokens", "must be a whole number of tokens");
  if (name === "none" || (name === "" && budget === undefined)) return undefined;
  const effort = name === "" ? ReasoningEffort.UNSPECIFIED : ownEntry(EFFORT_VALUES, name);
  if (effort === undefined) return reader.reject(field, `must be one of ${ACCEPTED}`);
  return create(ReasoningConfigSchema, { effort, budgetTokens: budget });
}

/** An answer's reasoning and refusal fields, for callers of the REST surface; `refusal` is null when there is none, as OpenAI writes it. */
export function toOpenAIReasoningFields(message: Message): JsonObject {
  const out: JsonObject = { refusal: message.refusal || null };
  // A refusal without an answer has null content, as OpenAI writes it.
  if (message.refusal && message.content === "" && message.parts.length === 0) out.content = null;
  if (message.reasoningContent) out.reasoning_content = message.reasoningContent;
  if (message.reasoning.length > 0) out.reasoning_details = toReasoningDetails(message.reasoning);
  return out;
}

/** Signed blocks as `reasoning_details`: text with its signature, or encrypted data. */
export function toReasoningDetails(blocks: readonly ReasoningBlock[]): JsonValue[] {
  return blocks.map((block, index): JsonObject =>
    block.redacted ? { type: "reasoning.encrypted", data: block.redacted, index } : { type: "reasoning.text", text: block.text, signature: block.signature, index },
  );
}

/** `reasoning_details` as a caller sends them back (or a vendor answers them). */
export function readReasoningDetails(raw: unknown, at: string, reader: JsonReader): ReasoningBlock[] {
  return reader.array(raw, at).flatMap((item, i) => {
    const detail = reader.object(item, `${at}[${i}]`, true);
    if (detail.type === "reasoning.encrypted") return [create(ReasoningBlockSchema, { redacted: reader.string(detail.data, `${at}[${i}].data`) })];
    if (detail.type === "reasoning.text") {
      return [create(ReasoningBlockSchema, { text: reader.string(detail.text, `${at}[${i}].text`), signature: reader.string(detail.signature, `${at}[${i}].signature`) })];
    }
    // Summaries and kinds added later carry nothing a vendor checks.
    return [];
  });
}
