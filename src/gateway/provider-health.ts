import type { ProviderState, ProviderStates } from "../common/health-state.js";
import type { BreakerState } from "./circuit-breaker.js";
import type { ProviderRuntime } from "./dispatcher.js";


/** How a provider's circuit breaker looks from outside. */
export type BreakerView = (provider: string) => { state: BreakerState; retryAfterMs: number } | undefined;

/**
 * Each configured provider's health, computed when asked (a health check, a
 * scrape, a model listing) from its key pool and its circuit breaker, so
 * calls pay nothing for it. Serving: a vendor key that can be handed out now
 * and a closed breaker; degraded otherwise, with the reason.
 */
export class ProviderHealth implements ProviderStates {
  constructor(
    private readonly providers: ReadonlyMap<string, ProviderRuntime>,
    private readonly breakerOf: BreakerView,
  ) {}

  names(): string[] {
    return [...this.providers.keys()];
  }

  of(provider: string): ProviderState {
    const problems: string[] = [];
    const keys = this.providers.get(provider)?.pool.unusableReason();
    if (keys) problems.push(keys);
    const breaker = this.breakerOf(provider);
    if (breaker?.state === "open") problems.push(`circuit breaker open after repeated failures; calls resume in ${Math.max(1, Math.ceil(breaker.retryAfterMs / 1000))} s`);
    if (breaker?.state === "half_open") problems.push("circuit breaker half-open: a few probe calls decide whether it closes");
    return { serving: problems.length === 0, reason: problems.join("; ") };
  }

  /** The providers that are degraded now. */
  degraded(): string[] {
    return this.names().filter((name) => !this.of(name).serving);
  }
}
