// A reasoning request fitted to how the model takes it: an effort for models
// steered by effort (adaptive thinking too), a token budget for those steered by budget, only "on"
// for those that take nothing more, nothing for models that do not reason.
import { create } from "@bufbuild/protobuf";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { ReasoningConfigSchema, ReasoningEffort, type ReasoningConfig } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ChatParams } from "../providers/provider.js";
import { EFFORT_BUDGETS, EFFORT_NAMES, EFFORT_SCALE, EFFORT_VALUES, type EffortName } from "../providers/reasoning.js";
import type { Adjustments } from "./adjustments.js";
import type { Reasoning } from "./schema.js";

/** What a model steered by effort takes when its row names none: the three every such vendor takes. */
const COMMON_EFFORTS: EffortName[] = ["low", "medium", "high"];

/** Tokens left for the answer itself when max_tokens has to make room for a reasoning budget (Anthropic's default answer length). */
export const ANSWER_ROOM = 4_096;

/** Whether the model reasons on this call, after `params.reasoning` was fitted in place. */
export function fitReasoning(params: ChatParams, reasoning: Reasoning | undefined, adjustments: Adjustments, model: string): boolean {
  const asked = params.reasoning;
  if (!asked) {
    // Left to its default it would think, beyond max_tokens and at the thinking price, with nothing reserved for it.
    if (reasoning?.byDefault) adjustments.add("reasoning", AdjustmentKind.CONVERTED, "", "off", `${model} reasons unless told not to: told not to, as the call asked for no reasoning`);
    return reasoning?.always ?? false;
  }
  if (!reasoning) {
    adjustments.dropped("reasoning", describe(asked), `${model} does not reason`);
    params.reasoning = undefined;
    return false;
  }
  const effort = EFFORT_NAMES[asked.effort];
  const budget = asked.budgetTokens;
  switch (reasoning.control) {
    case "none":
      if (effort || budget !== undefined) adjustments.dropped("reasoning", describe(asked), `${model} reasons its own way and takes no reasoning settings`);
      params.reasoning = undefined;
      return reasoning.always;
    case "toggle":
      if (effort) adjustments.dropped("reasoning.effort", effort, `${model} takes reasoning on or off only`);
      if (budget !== undefined) adjustments.dropped("reasoning.budget_tokens", String(budget), `${model} takes reasoning on or off only`);
      params.reasoning = create(ReasoningConfigSchema, {});
      return true;
    case "effort":
    case "adaptive":
      params.reasoning = byEffort(effort, budget, reasoning.efforts ?? COMMON_EFFORTS, adjustments, model);
      return true;
    case "budget":
      params.reasoning = byBudget(effort, budget, reasoning.budget!, adjustments, model);
      return true;
  }
}

function byEffort(effort: EffortName | undefined, budget: number | undefined, takes: readonly EffortName[], adjustments: Adjustments, model: string): ReasoningConfig {
  let chosen = effort;
  if (budget !== undefined) {
    if (chosen) {
      adjustments.dropped("reasoning.budget_tokens", String(budget), `${model} takes an effort, not a budget, and the effort is set`);
    } else {
      chosen = effortForBudget(budget);
      adjustments.add("reasoning.budget_tokens", AdjustmentKind.CONVERTED, String(budget), `effort ${chosen}`, `${model} takes a reasoning effort, not a budget`);
    }
  }
  if (chosen && !takes.includes(chosen)) {
    const nearest = nearestEffort(chosen, takes);
    adjustments.add("reasoning.effort", AdjustmentKind.CONVERTED, chosen, nearest, `${model} takes the efforts ${takes.join(", ")}`);
    chosen = nearest;
  }
  return create(ReasoningConfigSchema, { effort: chosen ? EFFORT_VALUES[chosen] : ReasoningEffort.UNSPECIFIED });
}

function byBudget(effort: EffortName | undefined, budget: number | undefined, range: { min: number; max: number }, adjustments: Adjustments, model: string): ReasoningConfig {
  let tokens = budget;
  if (tokens === undefined) {
    tokens = EFFORT_BUDGETS[effort ?? "medium"];
    if (effort) adjustments.add("reasoning.effort", AdjustmentKind.CONVERTED, effort, `budget_tokens ${within(tokens, range)}`, `${model} takes a reasoning budget in tokens, not an effort`);
    else adjustments.add("reasoning.budget_tokens", AdjustmentKind.RAISED, "", String(within(tokens, range)), `${model} needs a reasoning budget: the one for a medium effort`);
    tokens = within(tokens, range);
  } else {
    if (effort) adjustments.dropped("reasoning.effort", effort, `${model} takes a budget, not an effort, and the budget is set`);
    const fitted = within(tokens, range);
    if (fitted !== tokens) adjustments.add("reasoning.budget_tokens", AdjustmentKind.CLAMPED, String(tokens), String(fitted), `${model} takes a reasoning budget from ${range.min} to ${range.max} tokens`);
    tokens = fitted;
  }
  return create(ReasoningConfigSchema, { budgetTokens: tokens });
}

/**
 * A budget that must stay below max_tokens (Anthropic counts reasoning and
 * answer together): max_tokens is raised to make room when the caller left
 * it unset; a budget above the caller's max_tokens is cut below it, and
 * reasoning is dropped when not even the smallest budget fits.
 * Returns whether the model still reasons.
 */
export function fitBudgetWithinMaxTokens(params: ChatParams, reasoning: Reasoning, maxOutputTokens: number | undefined, adjustments: Adjustments, model: string): boolean {
  const budget = params.reasoning?.budgetTokens;
  if (budget === undefined) return true;
  const min = reasoning.budget?.min ?? 1;
  if (params.maxTokens === undefined) {
    const room = maxOutputTokens === undefined ? budget + ANSWER_ROOM : Math.min(maxOutputTokens, budget + ANSWER_ROOM);
    params.maxTokens = room;
    adjustments.add("max_tokens", AdjustmentKind.RAISED, "", String(room), `${model} counts reasoning within max_tokens: room for the budget and the answer`);
    if (room > budget) return true;
  }
  if (params.maxTokens > budget) return true;
  const fitted = params.maxTokens - 1;
  if (fitted >= min) {
    params.reasoning = create(ReasoningConfigSchema, { budgetTokens: fitted });
    adjustments.add("reasoning.budget_tokens", AdjustmentKind.CLAMPED, String(budget), String(fitted), `${model} needs the reasoning budget below max_tokens (${params.maxTokens})`);
    return true;
  }
  adjustments.dropped("reasoning", `budget_tokens ${budget}`, `max_tokens ${params.maxTokens} leaves no room for ${model}'s smallest reasoning budget (${min})`);
  params.reasoning = undefined;
  return false;
}

/**
 * The reasoning tokens a call may spend beyond max_tokens, for the budget to
 * reserve: the budget it sends, else, for a model that always reasons and was
 * given none, the budget it reasons within by default (`defaultBudget`); none
 * where reasoning counts within max_tokens (Anthropic).
 */
export function reasoningBeyondMaxTokens(params: Pick<ChatParams, "reasoning">, reasoning: Reasoning | undefined): number {
  if (reasoning?.budgetWithinMaxTokens) return 0;
  const sent = params.reasoning?.budgetTokens;
  if (sent !== undefined) return sent;
  return reasoning?.always ? (reasoning.defaultBudget ?? 0) : 0;
}

function within(tokens: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, tokens));
}

/**
 * The effort a budget stands for, by the budgets each effort stands for: low,
 * medium or high only, since a budget does not say the caller would pay for
 * xhigh or max, and names no effort below low.
 */
function effortForBudget(budget: number): EffortName {
  if (budget <= EFFORT_BUDGETS.low) return "low";
  return budget <= EFFORT_BUDGETS.medium ? "medium" : "high";
}

/** The closest effort the model takes: the next one up (minimal becomes low), else the next one down (xhigh becomes high). */
function nearestEffort(effort: EffortName, takes: readonly EffortName[]): EffortName {
  const at = EFFORT_SCALE.indexOf(effort);
  return EFFORT_SCALE.slice(at).find((e) => takes.includes(e)) ?? [...EFFORT_SCALE.slice(0, at)].reverse().find((e) => takes.includes(e)) ?? takes[0]!;
}

function describe(reasoning: ReasoningConfig): string {
  const parts = [EFFORT_NAMES[reasoning.effort] && `effort ${EFFORT_NAMES[reasoning.effort]}`, reasoning.budgetTokens !== undefined && `budget_tokens ${reasoning.budgetTokens}`].filter(Boolean);
  return parts.length > 0 ? parts.join(", ") : "on";
}
