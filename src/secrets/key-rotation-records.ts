import type { Logger } from "../observability/logger.js";
import type { SqlDatabase, SqlExecutor } from "../store/sql.js";
import type { CanaryVerdict } from "./canary-rollout.js";
import { inheritedReplaces, pruneRotations, replacesRecord } from "./rotation-record-pruning.js";
import { putSetting, removeSetting, settingsWithPrefix, settingValue } from "../store/settings-rows.js";

/** Where an operator's rotation of a staged key stands. */
export type RotationState = "staged" | "promoted" | "rolled_back" | "retired";

/** A key an operator staged (StageKey), as the store keeps it: references only, never a secret. */
export interface RotationRecord {
  provider: string;
  /** StageKey's credential_id: the key's slot in its pool ("key-2025-06"). */
  credentialId: string;
  secretRef: string;
  secondaryRef?: string;
  /** The Vault version it holds (the one staged, or a later one promoted); none for unversioned sources. */
  version?: number;
  /** The pool id of the credential it replaces ("openai/primary", "openai/primary@v2"). */
  replaces?: string;
  share?: number;
  weight?: number;
  promoteAfter?: number;
  state: RotationState;
  /** When it was staged (epoch ms): records are re-applied in this order. */
  stagedAtMs: number;
  /** retired (written by earlier versions, pruned when read): the pool id of the credential promoted in its place. */
  replacedBy?: string;
  /** promoted: how ("promoted" by an operator, or "auto_promoted") and why, as the verdict said; absent in records of earlier versions. */
  cause?: CanaryVerdict["cause"];
  reason?: string;
}

const PREFIX = "key_rotation:";
const STATES: readonly RotationState[] = ["staged", "promoted", "rolled_back", "retired"];

/**
 * The rotations operators made through the AdminService (StageKey, then
 * PromoteKey or RollbackKey, or the canary's own verdict), kept in the shared
 * store so that a restart, or an instance that starts later, builds its pools
 * as the rotation left them (ProviderPools re-applies them at start) instead
 * of from `providers.*.keys` alone: without them a restart forgot the promoted
 * key and put the key it replaced back in service. One row per staged key in
 * `gateway_settings` (SQLite or Postgres; Redis only carries the actions):
 *   key_rotation:<provider>:<credential_id> → JSON (secret_ref, state, replaces, share, …)
 * Only rows a restart needs are kept, so rotations do not pile up rows for good: a
 * rolled-back key's row is deleted, and a promotion takes over the row of the key it
 * replaced (rotation-record-pruning.ts); rows written by earlier versions are pruned
 * the same way when read. Writes that fail are logged, not thrown: the pool's change
 * stands for this run either way.
 */
export class KeyRotationRecords {
  constructor(
    private readonly db: SqlDatabase,
    private readonly logger: Logger,
  ) {}

  /**
   * Every record a restart needs, oldest staging first; throws when the store cannot be read.
   * Records that decide nothing any more are pruned from the store on the way (best effort).
   */
  async recall(): Promise<RotationRecord[]> {
    const rows = await settingsWithPrefix(this.db, PREFIX);
    const records: RotationRecord[] = [];
    for (const row of rows) {
      const record = parseRecord(row.value);
      if (record) records.push(record);
      else this.logger.warn({ row: row.name }, "ignored a key rotation record that cannot be read");
    }
    const { kept, rewritten, dropped } = pruneRotations(records.sort((a, b) => a.stagedAtMs - b.stagedAtMs));
    if (rewritten.length + dropped.length === 0) return kept;
    try {
      // One transaction: another instance reads the rows before or after, never half pruned.
      await this.db.transaction(async (tx) => {
        for (const record of rewritten) await upsert(tx, record);
        for (const record of dropped) await remove(tx, record);
      });
      this.logger.info({ rewritten: rewritten.length, deleted: dropped.length }, "pruned key rotation records that no longer decide anything");
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, "could not prune key rotation records: they are pruned at a later start");
    }
    return kept;
  }

  /** Records an operator's StageKey (a key staged again under the same id starts its record afresh). */
  staged(record: Omit<RotationRecord, "state">): Promise<void> {
    return this.write({ ...record, state: "staged" });
  }

  /**
   * Records a canary's verdict (PromoteKey, RollbackKey, or the pool's own) on a staged key's slot.
   * A rolled-back key's record is deleted. A promotion's record takes over the record of the key it
   * replaced (what that key had replaced, a restart keeps retired), which is deleted. Verdicts on
   * configured slots have no record.
   * The first promotion recorded is the fleet's verdict: a rollback of the version it promoted (by an
   * instance that had not heard of it yet: it takes the promotion instead, ProviderPools) never deletes
   * the record, and a later promotion of that version leaves it as the first one wrote it.
   */
  async judged(provider: string, verdict: CanaryVerdict): Promise<void> {
    const replacedSlot = verdict.verdict === "promoted" && verdict.replacedSlot !== verdict.slot ? verdict.replacedSlot : undefined;
    // The replaced record is read first: another instance applying the same promotion deletes it in the
    // transaction that rewrites the promotion's record, so whoever still finds it finds the promotion's as it was.
    const replaced = replacedSlot === undefined ? undefined : await this.find(provider, replacedSlot);
    const own = await this.find(provider, verdict.slot);
    const promotedAlready = own !== undefined && isPromotionOf(own, verdict.version);
    if (promotedAlready && verdict.verdict === "rejected") return;
    if (own && verdict.verdict === "promoted" && !promotedAlready) {
      const replaces = replaced && replacesRecord(own, replaced) ? inheritedReplaces(replaced) : own.replaces;
      const how = verdict.cause === undefined ? {} : { cause: verdict.cause, reason: verdict.reason };
      await this.write({ ...own, state: "promoted", version: verdict.version, replaces, ...how }, replaced);
    }
    // A later Vault version of the slot rolled back leaves the version the slot holds as it is.
    else if (own && verdict.verdict === "rejected" && verdict.version === own.version) await this.forget(own);
    // Without the promotion's record (unread), the replaced one is marked as earlier versions did: pruned at a later start.
    if (replaced && !own) await this.write({ ...replaced, state: "retired", replacedBy: verdict.credential });
  }

  /** The record of the fleet's promotion of `version` of a slot, if one is recorded (an unreadable store answers none). */
  async promotion(provider: string, credentialId: string, version: number | undefined): Promise<RotationRecord | undefined> {
    const record = await this.find(provider, credentialId);
    return record && isPromotionOf(record, version) ? record : undefined;
  }

  private async find(provider: string, credentialId: string): Promise<RotationRecord | undefined> {
    try {
      const value = await settingValue(this.db, rowName(provider, credentialId));
      return value === undefined ? undefined : parseRecord(value);
    } catch (err) {
      this.logger.error({ provider, credential: credentialId, error: (err as Error).message }, "could not read a key rotation record: a restart may not know this verdict");
      return undefined;
    }
  }

  /** Deletes a record that decides nothing any more; one left behind is pruned at a later start. */
  private async forget(record: RotationRecord): Promise<void> {
    try {
      await remove(this.db, record);
    } catch (err) {
      this.logger.warn({ provider: record.provider, credential: record.credentialId, error: (err as Error).message }, "could not delete a key rotation record: it is pruned at a later start");
    }
  }

  /** Writes `record`, and deletes the record it takes over (`superseded`) in the same transaction: both, or neither. */
  private async write(record: RotationRecord, superseded?: RotationRecord): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        await upsert(tx, record);
        if (superseded) await remove(tx, superseded);
      });
    } catch (err) {
      this.logger.error(
        { provider: record.provider, credential: record.credentialId, state: record.state, error: (err as Error).message },
        "could not record a key rotation: a restart, or an instance that starts later, may not know it",
      );
    }
  }
}

/** Whether `record` holds the promotion of `version` of its slot (not an earlier version's, when a later one is on trial). */
function isPromotionOf(record: RotationRecord, version: number | undefined): boolean {
  return record.state === "promoted" && record.version === version;
}

function upsert(db: SqlExecutor, record: RotationRecord): Promise<number> {
  return putSetting(db, rowName(record.provider, record.credentialId), JSON.stringify(record), { replace: true });
}

function remove(db: SqlExecutor, record: RotationRecord): Promise<number> {
  return removeSetting(db, rowName(record.provider, record.credentialId));
}

function rowName(provider: string, credentialId: string): string {
  return `${PREFIX}${provider}:${credentialId}`;
}

function parseRecord(value: string): RotationRecord | undefined {
  let parsed: Partial<RotationRecord>;
  try {
    parsed = JSON.parse(value) as Partial<RotationRecord>;
  } catch {
    return undefined;
  }
  const { provider, credentialId, secretRef, state, stagedAtMs } = parsed ?? {};
  if (typeof provider !== "string" || typeof credentialId !== "string" || typeof secretRef !== "string" || typeof stagedAtMs !== "number") return undefined;
  if (!STATES.includes(state as RotationState)) return undefined;
  return parsed as RotationRecord;
}
