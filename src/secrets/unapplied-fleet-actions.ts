import type { HealthState } from "../common/health-state.js";
import { CredentialHealthNotes } from "./credential-health-notes.js";

/** The health dependency that names the key-pool actions taken on another instance that do not apply here. */
export const UNAPPLIED_FLEET_ACTIONS = "key_pools";

/**
 * Operators' key-pool actions (StageKey, PromoteKey, RollbackKey, DisableKey) taken on another
 * instance that do not apply on this one, mostly a staged secret_ref this instance cannot read
 * (a variable or Secret that reached only some pods): the origin answered success, and this
 * instance's keys now differ from the fleet's. Shown in health as a degraded dependency
 * (`key_pools`), each credential with its actions, until a later action on it applies here (or
 * finds this instance as it asks already), or a key is staged here under its id; each is also
 * counted (`switchboard_fleet_actions_not_applied_total{provider,action}`, by the caller).
 */
export function unappliedFleetActions(health: HealthState | undefined): CredentialHealthNotes {
  return new CredentialHealthNotes(
    health,
    UNAPPLIED_FLEET_ACTIONS,
    (named) =>
      `key-pool actions taken on another instance do not apply here (${named}; the log says why): this instance's keys differ from the fleet's. ` +
      "Make the staged secret_ref readable here and restart this instance (it re-applies the fleet's recorded rotations), or call StageKey on this instance",
  );
}
