// The contract's reasoning request as dialects read it.
import { ReasoningEffort, type ReasoningConfig } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ChatParams } from "./provider.js";

/**
 * Every effort the contract names, from least to most. OpenAI's
 * `reasoning_effort` (and the Responses API's `reasoning.effort`): "Currently
 * supported values are none, minimal, low, medium, high, and xhigh", minimal
 * for GPT-5, xhigh "for all models after gpt-5.1-codex-max"
 * (https://platform.openai.com/docs/api-reference/chat/create); Codex sends
 * xhigh for `model_reasoning_effort = "xhigh"` (https://github.com/openai/codex/pull/7449).
 * Claude's `output_config.effort` takes low to max, xhigh between high and max
 * (https://platform.claude.com/docs/en/build-with-claude/effort). Which a model
 * takes is its catalogue row's `efforts`; "none" is no reasoning, not an effort.
 */
export const EFFORT_SCALE = ["minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type EffortName = (typeof EFFORT_SCALE)[number];

/** Effort names on the wire: each vendor that takes an effort spells it so. */
export const EFFORT_NAMES: Partial<Record<ReasoningEffort, EffortName>> = {
  [ReasoningEffort.MINIMAL]: "minimal",
  [ReasoningEffort.LOW]: "low",
  [ReasoningEffort.MEDIUM]: "medium",
  [ReasoningEffort.HIGH]: "high",
  [ReasoningEffort.XHIGH]: "xhigh",
  [ReasoningEffort.MAX]: "max",
};

/** Each wire name's value in the contract. */
export const EFFORT_VALUES: Record<EffortName, ReasoningEffort> = {
  minimal: ReasoningEffort.MINIMAL,
  low: ReasoningEffort.LOW,
  medium: ReasoningEffort.MEDIUM,
  high: ReasoningEffort.HIGH,
  xhigh: ReasoningEffort.XHIGH,
  max: ReasoningEffort.MAX,
};

/**
 * Reasoning budgets that stand for each effort, for vendors that take a budget
 * (clamped to the model's range by the catalogue): minimal is Claude's smallest
 * budget, xhigh twice high, max above every range the catalogue lists (so a
 * model's largest budget).
 */
export const EFFORT_BUDGETS: Record<EffortName, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24_576, xhigh: 49_152, max: 65_536 };

/** The caller asked for reasoning: a ReasoningConfig is set (its effort and budget refine it). */
export function wantsReasoning(params: Pick<ChatParams, "reasoning">): params is { reasoning: ReasoningConfig } {
  return params.reasoning !== undefined;
}

/** The request's effort as a wire name, if it names one. */
export function effortName(params: Pick<ChatParams, "reasoning">): EffortName | undefined {
  return params.reasoning ? EFFORT_NAMES[params.reasoning.effort] : undefined;
}

/** The budget to ask a budget-taking vendor for: the request's own, or the one its effort stands for. */
export function reasoningBudget(params: Pick<ChatParams, "reasoning">): number | undefined {
  const reasoning = params.reasoning;
  if (!reasoning) return undefined;
  return reasoning.budgetTokens ?? EFFORT_BUDGETS[EFFORT_NAMES[reasoning.effort] ?? "medium"];
}
