import { credentialResourceName } from "../api/admin/resource-names.js";
import { KeyPoolError } from "./key-pool-error.js";

/** The ErrorInfo reason of a StageKey replacing a key whose canary (the replacement staged before) is still on trial. */
export const CANARY_ON_TRIAL = "CANARY_ON_TRIAL";

/**
 * The refusal of a second canary for the same key: both could be promoted, and one key would be
 * replaced by two. Names the key and the canary on trial (pool ids, turned into resource names).
 */
export function canaryOnTrial(provider: string, replaces: string, trial: string): KeyPoolError {
  const key = credentialResourceName(provider, replaces);
  const canary = credentialResourceName(provider, trial);
  return new KeyPoolError(
    "failed_precondition",
    `${key} already has a canary on trial (${canary}): one canary at a time per key; promote it (PromoteKey) or roll it back (RollbackKey), then stage the next one`,
    undefined,
    { reason: CANARY_ON_TRIAL, metadata: { credential: canary, replaces: key } },
  );
}
