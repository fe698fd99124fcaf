// Qwen's own reasoning switch and budget, `enable_thinking` and
// `thinking_budget`, as callers of the REST surfaces send them: Qwen's docs
// tell OpenAI SDK users to pass them in `extra_body`, so they arrive as the
// caller's own fields. Sent on as they are, a model would think within its
// default budget (up to 38,912 tokens) that nothing reserved; read here as the
// unified reasoning request, they are budgeted, fitted to the model that
// serves (a model that cannot think has them dropped, and says so), and sent
// as the gateway's own fields.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ReasoningConfigSchema, ReasoningEffort, type ReasoningConfig } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { INT32_MAX } from "../../common/contract.js";
import type { JsonReader } from "./json-reader.js";

/**
 * Takes `enable_thinking` and `thinking_budget` out of the caller's own
 * fields (`own`, changed in place) and returns the reasoning request they
 * make with `asked` (what `reasoning_effort` / `reasoning` asked):
 * - `enable_thinking: true` asks for reasoning (the model's budget range then
 *   applies, a medium one when none is given);
 * - `thinking_budget` is its budget, and asks for reasoning as
 *   `reasoning.max_tokens` does;
 * - `enable_thinking: false` asks for none and stays the caller's own, sent on
 *   as it is: an open-source Qwen3 thinks unless told not to. A budget beside
 *   it bounds nothing, and is left out.
 * Contradictions (off while `reasoning_effort` asks for it, two budgets) are
 * InvalidArgument naming the field.
 */
export function takeQwenThinking(own: JsonObject, asked: ReasoningConfig | undefined, reader: JsonReader): ReasoningConfig | undefined {
  if (!("enable_thinking" in own) && !("thinking_budget" in own)) return asked;
  const enabled = reader.boolean(own.enable_thinking, "enable_thinking");
  const budget = reader.number(own.thinking_budget, "thinking_budget");
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 1 && budget <= INT32_MAX)) reader.reject("thinking_budget", `must be a whole number of tokens from 1 to ${INT32_MAX}`);
  delete own.thinking_budget;
  if (enabled === false) {
    if (asked) reader.reject("enable_thinking", "is false, while reasoning_effort or reasoning asks for reasoning: send one or the other");
    own.enable_thinking = false;
    return undefined;
  }
  delete own.enable_thinking;
  if (enabled === undefined && budget === undefined) return asked;
  if (budget !== undefined && asked?.budgetTokens !== undefined && asked.budgetTokens !== budget) {
    reader.reject("thinking_budget", `and reasoning.max_tokens give two budgets (${budget} and ${asked.budgetTokens}): send one`);
  }
  return create(ReasoningConfigSchema, { effort: asked?.effort ?? ReasoningEffort.UNSPECIFIED, budgetTokens: budget ?? asked?.budgetTokens });
}
