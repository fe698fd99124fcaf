// max_tokens for a vendor whose dialect requires one (Anthropic's) when the
// caller set none. Elsewhere an unset max_tokens leaves the model free to
// write its longest answer, and the budget reserves that much: so a model
// whose longest answer the catalogue knows is sent it, which changes nothing
// the caller asked for and is not reported. Only a model it does not know
// gets the provider's `default_max_tokens`, a limit the gateway chose: that
// is reported, as answers may be cut short of what the model writes.
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import type { ChatParams } from "../providers/provider.js";
import { reasoningBudget } from "../providers/reasoning.js";
import type { Adjustments } from "./adjustments.js";
import { ANSWER_ROOM } from "./reasoning-fitting.js";

/**
 * An unset max_tokens, where `fallback` says the dialect requires one: the
 * model's longest answer. Runs before a reasoning budget is fitted within
 * max_tokens, which then finds the room it needs.
 */
export function sendLongestAnswer(params: ChatParams, maxOutputTokens: number | undefined, fallback: number | undefined): void {
  if (fallback !== undefined && params.maxTokens === undefined && maxOutputTokens !== undefined) params.maxTokens = maxOutputTokens;
}

/**
 * An unset max_tokens still unset (the catalogue knows no longest answer for
 * the model), where `fallback` says the dialect requires one: the provider's
 * default, reported; or room for a thinking budget the default would not
 * exceed (Anthropic refuses max_tokens at or below budget_tokens).
 */
export function sendDefaultMaxTokens(params: ChatParams, fallback: number | undefined, adjustments: Adjustments, model: string): void {
  if (fallback === undefined || params.maxTokens !== undefined) return;
  const budget = reasoningBudget(params);
  if (budget !== undefined && budget >= fallback) {
    params.maxTokens = budget + ANSWER_ROOM;
    adjustments.add("max_tokens", AdjustmentKind.RAISED, "", String(params.maxTokens), `${model} counts reasoning within max_tokens, and its longest answer is not known: room for the budget and the answer`);
    return;
  }
  params.maxTokens = fallback;
  adjustments.add("max_tokens", AdjustmentKind.RAISED, "", String(fallback), `the vendor requires max_tokens, and ${model}'s longest answer is not known: the provider's default_max_tokens`);
}
