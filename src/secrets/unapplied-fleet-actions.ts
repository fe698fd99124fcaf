import type { HealthState } from "../common/health-state.js";
import type { PoolAction } from "./pool-action-bus.js";
import type { SecretMetrics } from "./secret-metrics.js";

/** The health dependency that names the key-pool actions taken on another instance that do not apply here. */
export const UNAPPLIED_FLEET_ACTIONS = "key_pools";

type Op = PoolAction["op"];

/**
 * Operators' key-pool actions (StageKey, PromoteKey, RollbackKey, DisableKey) taken on another
 * instance that do not apply on this one, mostly a staged secret_ref this instance cannot read
 * (a variable or Secret that reached only some pods): the origin answered success, and this
 * instance's keys now differ from the fleet's. Each is counted
 * (`switchboard_fleet_actions_not_applied_total{provider,action}`) and shown in health as a degraded
 * dependency (`key_pools`) that does not fail readiness (the keys here still serve). Anyone who
 * reaches the port may read health, so it names the provider, the credential id and the actions,
 * never the reference (the warning names it). A credential counts until a later action on it
 * applies here (or finds this instance as it asks already), or a key is staged here under its id.
 */
export class UnappliedFleetActions {
  /** provider → credential id (its slot: "third") → actions not applied, in the order they came. */
  private readonly unapplied = new Map<string, Map<string, Set<Op>>>();

  constructor(
    private readonly health: HealthState | undefined,
    private readonly metrics: SecretMetrics,
  ) {}

  add(provider: string, credentialId: string, op: Op): void {
    this.metrics.fleetActionsNotApplied.inc({ provider, action: op });
    const ids = this.unapplied.get(provider) ?? new Map<string, Set<Op>>();
    ids.set(credentialId, (ids.get(credentialId) ?? new Set()).add(op));
    this.unapplied.set(provider, ids);
    this.publish();
  }

  /** A later action on the credential applied here, or a key was staged here under its id: this instance agrees with the fleet on it again. */
  resolved(provider: string, credentialId: string): void {
    if (!this.unapplied.get(provider)?.delete(credentialId)) return;
    if (this.unapplied.get(provider)!.size === 0) this.unapplied.delete(provider);
    this.publish();
  }

  /** This provider's credentials with actions not applied here, as health names them: `"third" (stage, promote)`. */
  named(provider: string): string[] {
    return [...(this.unapplied.get(provider) ?? [])].map(([id, ops]) => `"${id}" (${[...ops].join(", ")})`);
  }

  private publish(): void {
    const named = [...this.unapplied.keys()].map((provider) => `${provider}: ${this.named(provider).join(", ")}`);
    this.health?.setDependency(UNAPPLIED_FLEET_ACTIONS, {
      ok: named.length === 0,
      detail:
        `key-pool actions taken on another instance do not apply here (${named.join("; ")}; the log says why): this instance's keys differ from the fleet's. ` +
        "Make the staged secret_ref readable here and restart this instance (it re-applies the fleet's recorded rotations), or call StageKey on this instance",
      required: false,
    });
  }
}
