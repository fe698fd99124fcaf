import { credentialResourceName } from "../api/admin/resource-names.js";
import { KeyPoolError } from "./key-pool-error.js";
import type { RotationRecord } from "./key-rotation-records.js";

/** The ErrorInfo reason of a RollbackKey of a key the fleet has promoted already. */
export const KEY_PROMOTED_BY_FLEET = "KEY_PROMOTED_BY_FLEET";

/** How the fleet promoted a key: what its record (or the version memory) says. */
export interface FleetPromotion {
  /** "auto_promoted" or "promoted"; unknown for a Vault version whose promotion only the version memory keeps. */
  cause: "promoted" | "auto_promoted" | undefined;
  /** The verdict's reason ("promoted automatically: 20 successful calls …", "promoted by \"master\""). */
  reason: string;
  /** The promotion's rotation record (a key staged with StageKey): what a key rolled back here is staged again from. */
  record?: RotationRecord;
}

/**
 * The refusal of a rollback that comes after the fleet's promotion of the key (on any instance): the
 * promoted key serves the whole fleet, and rolling it back here alone would leave instances on different
 * keys. A new key is staged to replace it, or it is disabled. Names the credential and the verdict, no secret.
 */
export function promotedByFleet(provider: string, credentialId: string, promotion: FleetPromotion): KeyPoolError {
  const name = credentialResourceName(provider, credentialId);
  return new KeyPoolError(
    "failed_precondition",
    `${name} is promoted, not a canary: the fleet promoted it (${promotion.reason}) and every instance serves it. ` +
      `To withdraw it, stage a new key with "replaces": "${name}" (StageKey), or take it out of rotation at once with DisableKey`,
    undefined,
    { reason: KEY_PROMOTED_BY_FLEET, metadata: { credential: name, state: "promoted", cause: promotion.cause ?? "promoted" } },
  );
}
