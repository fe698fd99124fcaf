import type { HealthState } from "../common/health-state.js";
import { CredentialHealthNotes } from "./credential-health-notes.js";

/** The health dependency that names the rotations a start could not re-apply. */
export const UNRESTORED_ROTATIONS = "key_rotations";

/**
 * The operators' rotations recorded before this start that could not be re-applied (their
 * secret cannot be read now, mostly), shown in health as a degraded dependency (`key_rotations`):
 * the pool serves the keys that remain, the keys those rotations retired stay retired. A rotation
 * counts until an operator stages a key under its credential id again, or the next start re-applies it.
 */
export function unrestoredRotations(health: HealthState | undefined): CredentialHealthNotes {
  return new CredentialHealthNotes(
    health,
    UNRESTORED_ROTATIONS,
    (named) => `key rotations recorded before this start could not be re-applied (${named}; the log says why): the keys they retired stay retired, the remaining keys serve`,
  );
}
