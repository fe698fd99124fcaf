import { isGlob } from "../common/glob.js";
import { ConfigError } from "../config/config-error.js";
import type { AdmissionRequest } from "../gateway/call-hooks.js";
import type { Candidate, Router } from "../gateway/router.js";
import type { Logger } from "../observability/logger.js";
import { maskKeys } from "../providers/redact.js";
import type { PriceTable } from "./pricing.js";

/** What the admin API asks of EconomyPrices (a stub in tests that price nothing). */
export type EconomyPriceCheck = Pick<EconomyPrices, "notCheaper">;

/** Per-token prices (nano-units) of the dearest of the candidates a model name routes to, input and output apart. */
interface DearestPrice {
  input: number;
  output: number;
}

/**
 * An economy model is "a cheaper model near the budget's limit": one that is
 * not cheaper would spend the budget as fast or faster once the key is moved
 * to it, and under `economy_only` one priced the same would leave the key no
 * budget at all. Each name is judged by the dearest candidate it routes to
 * (fallbacks included), as a call's reservation is.
 */
export class EconomyPrices {
  constructor(
    private readonly router: Router,
    private readonly prices: PriceTable,
  ) {}

  /**
   * Why `economyModel` is no economy for `model`: not cheaper per input token
   * and per output token. Undefined when it is, or when a price cannot be
   * known before a call: a glob names no one model, a name no route serves
   * has none, nor has a model without a price (admission judges those, see
   * `cheaperEconomy`).
   */
  notCheaper(model: string, economyModel: string): string | undefined {
    const requested = this.dearest(model);
    const economy = this.dearest(economyModel);
    if (!requested || !economy || cheaper(economy, requested)) return undefined;
    return (
      `"${economyModel}" is not cheaper than "${model}" (${this.perMillion(economy)} against ${this.perMillion(requested)}): ` +
      "an economy model must cost less per input and per output token, or the budget runs out as fast once the key moves to it"
    );
  }

  private dearest(model: string): DearestPrice | undefined {
    if (isGlob(model)) return undefined;
    try {
      return dearestPrice(this.router.resolve(model), this.prices);
    } catch {
      return undefined;
    }
  }

  /** "2.5/10 USD per million input/output tokens", from nano-units per token. */
  private perMillion({ input, output }: DearestPrice): string {
    const units = (nanos: number) => Number((nanos / 1_000).toPrecision(6));
    return `${units(input)}/${units(output)} ${this.prices.currency} per million input/output tokens`;
  }
}

/** Per-token prices of the dearest of `candidates`, input and output apart; undefined when one has no price. */
function dearestPrice(candidates: readonly Candidate[], prices: PriceTable): DearestPrice | undefined {
  const dearest: DearestPrice = { input: 0, output: 0 };
  for (const { provider, upstreamModel } of candidates) {
    const price = prices.tokenPrice(provider, upstreamModel);
    if (!price) return undefined;
    dearest.input = Math.max(dearest.input, price.input);
    dearest.output = Math.max(dearest.output, price.output);
  }
  return dearest;
}

function cheaper(economy: DearestPrice, requested: DearestPrice): boolean {
  return economy.input < requested.input && economy.output < requested.output;
}

/** The configured `keys.defaults.economy_models` are given to every key made without its own: one that is not cheaper stops the start. */
export function checkEconomyDefaults(mappings: readonly { model: string; economyModel: string }[], economy: EconomyPriceCheck): void {
  for (const { model, economyModel } of mappings) {
    const problem = economy.notCheaper(model, economyModel);
    if (problem !== undefined) throw new ConfigError("config", `keys.defaults.economy_models.${model}`, problem);
  }
}

/** Keys, models and economy models already said not to be downgraded, per UsageHooks: one warn line each. */
const warned = new WeakMap<object, Set<string>>();
const MAX_WARNED = 1_000;

/**
 * `economy` (the economy model's candidates for a call), or undefined (no
 * downgrade: the call is served as requested and the budget applies as
 * without a mapping) when they are not cheaper per token than `normal`, the
 * requested model's (a mapping the admin API could not judge: a glob, a route
 * or a price changed since), or reserving for them would not be less (a call
 * whose bound is larger on the economy model: a longer most output), judged by
 * `bound`: the most the call could cost on the dearest of some candidates, its
 * reservation before the cap at the budget. Kept when a price is unknown, as
 * before. Said once per key and pair of models.
 */
export function cheaperEconomy<T extends { allowed: Candidate[] }>(
  economy: T | undefined,
  normal: readonly Candidate[],
  request: AdmissionRequest,
  bound: (candidates: readonly Candidate[]) => number,
  deps: { prices: PriceTable; logger: Logger },
): T | undefined {
  if (!economy) return undefined;
  const normalPrice = dearestPrice(normal, deps.prices);
  const economyPrice = dearestPrice(economy.allowed, deps.prices);
  if (!normalPrice || !economyPrice) return economy;
  if (cheaper(economyPrice, normalPrice) && bound(economy.allowed) < bound(normal)) return economy;
  const keyId = request.ctx.principal.keyId;
  // A name the caller chose ("openai/sk-…" routes a pasted key upstream): logged with any key masked.
  const requestedModel = maskKeys(request.requestedModel);
  const economyModels = economy.allowed.map((c) => `${c.provider}/${c.upstreamModel}`).join(", ");
  const said = warned.get(deps) ?? new Set<string>();
  warned.set(deps, said);
  const pair = `${keyId}\n${requestedModel}\n${economyModels}`;
  if (!said.has(pair) && said.size < MAX_WARNED) {
    said.add(pair);
    deps.logger.warn(
      { keyId, requestedModel, economyModels },
      "the key's economy model would not cost less than the requested model: no downgrade (the budget applies as without a mapping)",
    );
  }
  return undefined;
}
