import type { Logger } from "../observability/logger.js";
import type { Credential } from "./credential.js";
import type { KeyPool, KeyView } from "./key-pool.js";

/** A watched key slot: which provider's pool, its id, and the reference its versions come from. */
export interface WatchedSlot {
  provider: string;
  id: string;
  source: string;
}

/**
 * The keys of `slot` (not retired or draining) holding a version newer than `version`: when the source
 * serves `version` again, those were withdrawn there. AWS Secrets Manager does this when the AWSPENDING or
 * AWSCURRENT label is taken off the newer version (a cancelled or rolled-back rotation).
 */
export function keysWithdrawn(pool: KeyPool, slot: WatchedSlot, version: number): KeyView[] {
  return pool
    .list()
    .filter((key) => key.slot === slot.id && key.source === slot.source && key.version !== undefined && key.version > version)
    .filter((key) => key.state !== "retired" && key.state !== "draining");
}

/**
 * Goes back to the version the source serves again (`credential`, at `version`), as a gateway started now
 * would (it starts on that version), so running and restarted instances serve the same key. Only for a
 * version that served here already, the same value at the same number (ProviderPools checks): it is known
 * good, so it takes no trial; any other version numbered below the keys in use (a Vault secret deleted and
 * written again numbers from 1 anew) is a new key, staged as a canary. A key in service
 * holding a withdrawn version is replaced at once by the version served, promoted (the withdrawn key drains,
 * then retires; the promotion makes it the slot's good version, as a restart records it); every other key
 * holding a withdrawn version (a canary: withdrawn, not judged, so no verdict) is retired. Logged.
 */
export function goBack(pool: KeyPool, slot: WatchedSlot, version: number, credential: Credential, logger: Logger): void {
  const withdrawn = keysWithdrawn(pool, slot, version);
  const reason = `withdrawn at its source: ${slot.source} serves version ${version} again`;
  // A key already serving the same secret needs no successor.
  const replaced = pool.holding(credential) ? undefined : withdrawn.find((key) => key.canary === undefined);
  for (const key of withdrawn) if (key !== replaced) pool.retire(key.id, reason);
  if (replaced) {
    // The version served again may still be in the pool from before (draining, or retired): its id is taken again.
    if (pool.get(credential.id)?.state === "draining") pool.retire(credential.id, reason);
    pool.forgetRetired(credential.id);
    const staged = pool.stage({ credential, weight: replaced.weight, source: slot.source, version, slot: slot.id, replaces: replaced.id, supersede: true });
    pool.promote(staged.id, "promoted", `its source serves this version again (${slot.source}): it replaces "${replaced.id}", as a restarted gateway would`);
  }
  logger.warn(
    { provider: slot.provider, slot: slot.id, source: slot.source, version, withdrawn: withdrawn.map((key) => key.id) },
    "the source serves an older version again (the newer one was withdrawn there): going back to it, as a restarted gateway would",
  );
}
