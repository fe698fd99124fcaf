import type { Logger } from "../observability/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import { putSetting, settingsWithPrefix } from "../store/settings-rows.js";
import { sameVersion, type VersionIdentity } from "./version-identity.js";

/** What the fleet has decided about the versions of one key slot ("openai/primary"). */
export interface SlotVerdicts {
  /** The version last promoted (or first served): the one to start on. */
  good: VersionIdentity | undefined;
  /** Versions whose canary was rolled back: never to be served or staged again. */
  rejected: VersionIdentity[];
}

/** Whether the verdicts reject `identity` (the same number holding another value, a secret re-created at its source, is not rejected). */
export function isRejected(verdicts: SlotVerdicts, identity: VersionIdentity): boolean {
  return verdicts.rejected.some((rejected) => sameVersion(rejected, identity));
}

/**
 * The canary verdicts on Vault versions, kept in the shared store so that a
 * restart (or another instance) does not undo them: without it, a gateway
 * restarted after rolling back version 3 would read "latest = 3" and serve the
 * rejected key to everyone. Each verdict names the version by its number and its
 * value's fingerprint (version-identity.ts): a secret deleted and written again at
 * its source numbers its versions from 1 again, and the old secret's verdicts
 * say nothing of the new one's keys. One row per fact in `gateway_settings`, so
 * instances never overwrite each other's rejections:
 *   key_version:<slot>:good                 → "<version>:<fingerprint>" (rows written before fingerprints: "<version>")
 *   key_version:<slot>:rejected:<v>:<fp>    → when it was rejected (epoch ms) (before fingerprints: `rejected:<v>`)
 */
export class KeyVersionMemory {
  constructor(
    private readonly db: SqlDatabase,
    private readonly logger: Logger,
  ) {}

  async recall(slot: string): Promise<SlotVerdicts> {
    const prefix = `key_version:${slot}:`;
    const verdicts: SlotVerdicts = { good: undefined, rejected: [] };
    for (const row of await settingsWithPrefix(this.db, prefix)) {
      const fact = row.name.slice(prefix.length);
      if (fact === "good") verdicts.good = identityFrom(String(row.value));
      else if (fact.startsWith("rejected:")) verdicts.rejected.push(identityFrom(fact.slice("rejected:".length)));
    }
    return verdicts;
  }

  /** Records the version now serving the slot (promoted, or first read). */
  promoted(slot: string, identity: VersionIdentity): Promise<void> {
    return this.write(() => putSetting(this.db, `key_version:${slot}:good`, written(identity), { replace: true }), { slot, ...identity, verdict: "promoted" });
  }

  /** Records a rolled-back version. */
  rejected(slot: string, identity: VersionIdentity): Promise<void> {
    return this.write(
      () => putSetting(this.db, `key_version:${slot}:rejected:${written(identity)}`, String(Date.now()), { replace: false }),
      { slot, ...identity, verdict: "rejected" },
    );
  }

  /** A failed write is logged, not thrown: the pool's decision stands for this run either way. */
  private async write(put: () => Promise<number>, what: { slot: string; version: number; fingerprint: string | undefined; verdict: string }): Promise<void> {
    try {
      await put();
    } catch (err) {
      this.logger.error({ ...what, error: (err as Error).message }, "could not record a key version verdict: a restart may not know it");
    }
  }
}

function written(identity: VersionIdentity): string {
  return identity.fingerprint === undefined ? String(identity.version) : `${identity.version}:${identity.fingerprint}`;
}

/** "3:1a2b3c4d", or "3" as written before fingerprints were (it holds for any value at that number). */
function identityFrom(text: string): VersionIdentity {
  const [version, fingerprint] = text.split(":");
  return { version: Number(version), fingerprint: fingerprint || undefined };
}
