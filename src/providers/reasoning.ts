// The contract's reasoning request as dialects read it.
import { ReasoningEffort, type ReasoningConfig } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ChatParams } from "./provider.js";

/** Effort names on the wire: every vendor that takes an effort takes these three. */
export const EFFORT_NAMES: Partial<Record<ReasoningEffort, "low" | "medium" | "high">> = {
  [ReasoningEffort.LOW]: "low",
  [ReasoningEffort.MEDIUM]: "medium",
  [ReasoningEffort.HIGH]: "high",
};

/** Reasoning budgets that stand for each effort, for vendors that take a budget (clamped to the model's range by the catalogue). */
export const EFFORT_BUDGETS: Record<"low" | "medium" | "high", number> = { low: 2048, medium: 8192, high: 24_576 };

/** The caller asked for reasoning: a ReasoningConfig is set (its effort and budget refine it). */
export function wantsReasoning(params: Pick<ChatParams, "reasoning">): params is { reasoning: ReasoningConfig } {
  return params.reasoning !== undefined;
}

/** The request's effort as a wire name, if it names one. */
export function effortName(params: Pick<ChatParams, "reasoning">): "low" | "medium" | "high" | undefined {
  return params.reasoning ? EFFORT_NAMES[params.reasoning.effort] : undefined;
}

/** The budget to ask a budget-taking vendor for: the request's own, or the one its effort stands for. */
export function reasoningBudget(params: Pick<ChatParams, "reasoning">): number | undefined {
  const reasoning = params.reasoning;
  if (!reasoning) return undefined;
  return reasoning.budgetTokens ?? EFFORT_BUDGETS[EFFORT_NAMES[reasoning.effort] ?? "medium"];
}
