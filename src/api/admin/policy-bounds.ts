import type { KeyRecord } from "../../auth/key-policy.js";
import { globCovers } from "../../common/glob.js";
import { NANOS_PER_UNIT } from "../../usage/pricing.js";

/** A setting of a key beyond the policy that bounds it: the API field, and how it goes beyond. */
export interface PolicyExcess {
  field: "team" | "allowed_models" | "requests_per_minute" | "tokens_per_minute" | "budget" | "expire_time";
  reason: string;
}

/**
 * The first setting of `key` that goes beyond `bound` (the policy of the
 * admin key making it), if any: the bound's own team where it has one (a
 * team is a tenant: its keys share its cached answers and its reports), a
 * scope each of whose globs one of the bound's covers, rate limits no
 * higher, a budget no larger over the same period, an expiry no later. Each
 * key's budget is its own: a key within the bound may spend as much as the
 * bound beside it, not out of it.
 */
export function beyondPolicy(key: KeyRecord, bound: KeyRecord): PolicyExcess | undefined {
  return (
    beyondTeam(key, bound) ??
    beyondScope(key, bound) ??
    beyondRate("requests_per_minute", key.requestsPerMinute, bound.requestsPerMinute) ??
    beyondRate("tokens_per_minute", key.tokensPerMinute, bound.tokensPerMinute) ??
    beyondBudget(key, bound) ??
    beyondExpiry(key, bound)
  );
}

function beyondTeam(key: KeyRecord, bound: KeyRecord): PolicyExcess | undefined {
  if (bound.team === "" || key.team === bound.team) return undefined;
  return { field: "team", reason: key.team === "" ? `a key without a team is outside its own team "${bound.team}"` : `team "${key.team}" is not its own team "${bound.team}"` };
}

function beyondScope(key: KeyRecord, bound: KeyRecord): PolicyExcess | undefined {
  if (bound.allowedModels.length === 0) return undefined;
  if (key.allowedModels.length === 0) return { field: "allowed_models", reason: "an empty allowed_models allows every model, beyond its own scope" };
  const outside = key.allowedModels.find((glob) => !bound.allowedModels.some((own) => globCovers(own, glob)));
  return outside === undefined ? undefined : { field: "allowed_models", reason: `"${outside}" is not within any glob of its own scope` };
}

/** 0 is unlimited: beyond any limit. */
function beyondRate(field: "requests_per_minute" | "tokens_per_minute", value: number, bound: number): PolicyExcess | undefined {
  if (bound === 0 || (value > 0 && value <= bound)) return undefined;
  return { field, reason: `${field} ${value === 0 ? "0 (unlimited)" : value} is above its own ${bound}` };
}

function beyondBudget(key: KeyRecord, bound: KeyRecord): PolicyExcess | undefined {
  const own = bound.budget;
  if (!own) return undefined;
  const budget = key.budget;
  const ownLimit = `its own ${own.limitNanos / NANOS_PER_UNIT} per ${own.period}`;
  if (!budget) return { field: "budget", reason: `no budget is unlimited spending, beyond ${ownLimit}` };
  if (budget.period !== own.period) return { field: "budget", reason: `a budget per ${budget.period} is not comparable with ${ownLimit}: use the same period` };
  if (budget.limitNanos > own.limitNanos) return { field: "budget", reason: `a limit of ${budget.limitNanos / NANOS_PER_UNIT} is above ${ownLimit}` };
  // economy_only keeps serving economy models past the limit: more than a budget that refuses.
  if (budget.whenExhausted === "economy_only" && own.whenExhausted === "refuse") {
    return { field: "budget", reason: "when_exhausted ECONOMY_ONLY spends past the limit, while its own budget refuses" };
  }
  return undefined;
}

function beyondExpiry(key: KeyRecord, bound: KeyRecord): PolicyExcess | undefined {
  if (bound.expireMs === undefined) return undefined;
  const own = new Date(bound.expireMs).toISOString();
  if (key.expireMs === undefined) return { field: "expire_time", reason: `a key without expiry outlives its own, at ${own}` };
  if (key.expireMs > bound.expireMs) return { field: "expire_time", reason: `${new Date(key.expireMs).toISOString()} is after its own expiry, at ${own}` };
  return undefined;
}
