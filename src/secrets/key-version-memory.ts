import type { Logger } from "../observability/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import { putSetting, settingsWithPrefix } from "../store/settings-rows.js";

/** What the fleet has decided about the versions of one key slot ("openai/primary"). */
export interface SlotVerdicts {
  /** The version last promoted (or first served): the one to start on. */
  good: number | undefined;
  /** Versions whose canary was rolled back: never to be served or staged again. */
  rejected: Set<number>;
}

/**
 * The canary verdicts on Vault versions, kept in the shared store so that a
 * restart (or another instance) does not undo them: without it, a gateway
 * restarted after rolling back version 3 would read "latest = 3" and serve the
 * rejected key to everyone. One row per fact in `gateway_settings`, so
 * instances never overwrite each other's rejections:
 *   key_version:<slot>:good           → the version
 *   key_version:<slot>:rejected:<v>   → when it was rejected (epoch ms)
 */
export class KeyVersionMemory {
  constructor(
    private readonly db: SqlDatabase,
    private readonly logger: Logger,
  ) {}

  async recall(slot: string): Promise<SlotVerdicts> {
    const prefix = `key_version:${slot}:`;
    const verdicts: SlotVerdicts = { good: undefined, rejected: new Set() };
    for (const row of await settingsWithPrefix(this.db, prefix)) {
      const fact = row.name.slice(prefix.length);
      if (fact === "good") verdicts.good = Number(row.value);
      else if (fact.startsWith("rejected:")) verdicts.rejected.add(Number(fact.slice("rejected:".length)));
    }
    return verdicts;
  }

  /** Records the version now serving the slot (promoted, or first read). */
  promoted(slot: string, version: number): Promise<void> {
    return this.write(() => putSetting(this.db, `key_version:${slot}:good`, String(version), { replace: true }), { slot, version, verdict: "promoted" });
  }

  /** Records a rolled-back version. */
  rejected(slot: string, version: number): Promise<void> {
    return this.write(() => putSetting(this.db, `key_version:${slot}:rejected:${version}`, String(Date.now()), { replace: false }), { slot, version, verdict: "rejected" });
  }

  /** A failed write is logged, not thrown: the pool's decision stands for this run either way. */
  private async write(put: () => Promise<number>, what: { slot: string; version: number; verdict: string }): Promise<void> {
    try {
      await put();
    } catch (err) {
      this.logger.error({ ...what, error: (err as Error).message }, "could not record a key version verdict: a restart may not know it");
    }
  }
}
