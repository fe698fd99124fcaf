// A vendor's own thinking switch, sent as the caller's own field on the REST
// surfaces: each vendor's docs tell OpenAI SDK users to pass it in
// `extra_body`, so it arrives beside the fields the gateway reads.
// - Qwen (DashScope): `enable_thinking`, and its budget `thinking_budget`;
// - Zhipu and DeepSeek: `thinking: {type: "enabled" | "disabled"}` (with
//   `budget_tokens`, as Anthropic's OpenAI SDK compatibility takes it);
// - a chat template's switch, on vLLM and other OpenAI-compatible servers:
//   `chat_template_kwargs.enable_thinking` (Qwen3) or `.thinking`
//   (DeepSeek-V3.1, Granite).
// Sent on as they are, a model would think within its default budget (a
// Qwen3 up to 38,912 tokens beyond max_tokens) that nothing reserved. Read
// here as the unified reasoning request, they are budgeted, fitted to the
// model that serves (a model that cannot think has them dropped, and says
// so), and sent as the gateway's own fields.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ReasoningConfigSchema, ReasoningEffort, type ReasoningConfig } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { INT32_MAX } from "../../common/contract.js";
import type { JsonReader } from "./json-reader.js";

/** The switches a chat template reads from `chat_template_kwargs` (the server's template, not the gateway, reads them). */
export const TEMPLATE_THINKING_SWITCHES = ["enable_thinking", "thinking"] as const;

/** What `thinking: {…}` may hold when it switches thinking on: the gateway sends the model's own switch in its place. */
const THINKING_OBJECT_FIELDS = new Set(["type", "budget_tokens"]);

interface Switch {
  field: string;
  on: boolean;
}

interface Budget {
  field: string;
  tokens: number;
}

/**
 * Takes the vendors' thinking switches out of the caller's own fields
 * (`own`, changed in place) and returns the reasoning request they make with
 * `asked` (what `reasoning_effort` / `reasoning` asked):
 * - a switch on (`enable_thinking: true`, `thinking.type` "enabled", a
 *   template's switch true) asks for reasoning: the model's budget range then
 *   applies, a medium one when none is given;
 * - `thinking_budget` or `thinking.budget_tokens` is its budget, and asks for
 *   reasoning as `reasoning.max_tokens` does;
 * - a switch off asks for none and stays the caller's own, sent on as it is:
 *   a model may think unless told not to (an open-source Qwen3). A budget
 *   beside it bounds nothing, and is left out.
 * The vendor's own switches on are taken out (the gateway sends the model's
 * own); a template's stays, since only the server's template reads it.
 * Contradictions (a switch off while another, or `reasoning_effort`, asks
 * for reasoning; two budgets) are InvalidArgument naming the field.
 */
export function takeThinkingSwitches(own: JsonObject, asked: ReasoningConfig | undefined, reader: JsonReader): ReasoningConfig | undefined {
  const switches: Switch[] = [];
  const budgets: Budget[] = [];
  readQwenSwitch(own, reader, switches, budgets);
  readThinkingObject(own, reader, switches, budgets);
  readTemplateSwitches(own, reader, switches);
  if (switches.length === 0 && budgets.length === 0) return asked;

  const off = switches.find((s) => !s.on);
  const on = switches.find((s) => s.on);
  if (off) {
    if (on) reader.reject(off.field, `switches thinking off, while ${on.field} switches it on: send one`);
    if (asked) reader.reject(off.field, "switches thinking off, while reasoning_effort or reasoning asks for reasoning: send one or the other");
    delete own.thinking_budget;
    return undefined;
  }
  delete own.enable_thinking;
  delete own.thinking_budget;
  delete own.thinking;
  if (asked?.budgetTokens !== undefined) budgets.push({ field: "reasoning.max_tokens", tokens: asked.budgetTokens });
  const [first, ...others] = budgets;
  const other = others.find((b) => b.tokens !== first!.tokens);
  if (other) reader.reject(first!.field, `and ${other.field} give two budgets (${first!.tokens} and ${other.tokens}): send one`);
  return create(ReasoningConfigSchema, { effort: asked?.effort ?? ReasoningEffort.UNSPECIFIED, budgetTokens: first?.tokens });
}

/** Qwen's `enable_thinking` and `thinking_budget`. */
function readQwenSwitch(own: JsonObject, reader: JsonReader, switches: Switch[], budgets: Budget[]): void {
  const enabled = reader.boolean(own.enable_thinking, "enable_thinking");
  if (enabled !== undefined) switches.push({ field: "enable_thinking", on: enabled });
  const budget = readBudget(own.thinking_budget, "thinking_budget", reader);
  if (budget !== undefined) budgets.push({ field: "thinking_budget", tokens: budget });
}

/** Zhipu's and DeepSeek's `thinking: {type}`; off, it is left as sent. */
function readThinkingObject(own: JsonObject, reader: JsonReader, switches: Switch[], budgets: Budget[]): void {
  if (own.thinking === undefined || own.thinking === null) return;
  const thinking = reader.object(own.thinking, "thinking");
  const type = reader.string(thinking.type, "thinking.type");
  if (type !== "enabled" && type !== "disabled") reader.reject("thinking.type", 'must be "enabled" or "disabled" (or send reasoning_effort)');
  switches.push({ field: "thinking", on: type === "enabled" });
  if (type === "disabled") return;
  for (const name of Object.keys(thinking)) {
    if (!THINKING_OBJECT_FIELDS.has(name)) reader.reject(`thinking.${name}`, "is not read: with thinking on, the gateway sends the model's own switch, from type and budget_tokens");
  }
  const budget = readBudget(thinking.budget_tokens, "thinking.budget_tokens", reader);
  if (budget !== undefined) budgets.push({ field: "thinking.budget_tokens", tokens: budget });
}

/** A chat template's switches, in `chat_template_kwargs`: read, and left as sent. */
function readTemplateSwitches(own: JsonObject, reader: JsonReader, switches: Switch[]): void {
  const kwargs = reader.object(own.chat_template_kwargs, "chat_template_kwargs");
  for (const name of TEMPLATE_THINKING_SWITCHES) {
    const field = `chat_template_kwargs.${name}`;
    const on = reader.boolean(kwargs[name], field);
    if (on !== undefined) switches.push({ field, on });
  }
}

function readBudget(value: unknown, field: string, reader: JsonReader): number | undefined {
  const budget = reader.number(value, field);
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 1 && budget <= INT32_MAX)) reader.reject(field, `must be a whole number of tokens from 1 to ${INT32_MAX}`);
  return budget;
}
