import type { Logger } from "../observability/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import type { CanaryVerdict } from "./canary-rollout.js";

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
  /** retired: the pool id of the credential promoted in its place. */
  replacedBy?: string;
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
 * `gateway_settings`:
 *   key_rotation:<provider>:<credential_id> → JSON (secret_ref, state, replaces, share, …)
 * Writes that fail are logged, not thrown: the pool's change stands for this run either way.
 */
export class KeyRotationRecords {
  constructor(
    private readonly db: SqlDatabase,
    private readonly logger: Logger,
  ) {}

  /** Every record, oldest staging first; throws when the store cannot be read. */
  async recall(): Promise<RotationRecord[]> {
    // LIKE would treat "_" in the prefix as a wildcard: compare the prefix exactly instead.
    const rows = await this.db.query("SELECT name, value FROM gateway_settings WHERE substr(name, 1, $1) = $2", [PREFIX.length, PREFIX]);
    const records: RotationRecord[] = [];
    for (const row of rows) {
      const record = parseRecord(String(row.value));
      if (record) records.push(record);
      else this.logger.warn({ row: String(row.name) }, "ignored a key rotation record that cannot be read");
    }
    return records.sort((a, b) => a.stagedAtMs - b.stagedAtMs);
  }

  /** Records an operator's StageKey (a key staged again under the same id starts its record afresh). */
  staged(record: Omit<RotationRecord, "state">): Promise<void> {
    return this.write({ ...record, state: "staged" });
  }

  /**
   * Records a canary's verdict (PromoteKey, RollbackKey, or the pool's own) on a staged key's slot;
   * a promotion also retires the staged key it replaced. Verdicts on configured slots have no record.
   */
  async judged(provider: string, verdict: CanaryVerdict): Promise<void> {
    const own = await this.find(provider, verdict.slot);
    if (own && verdict.verdict === "promoted") await this.write({ ...own, state: "promoted", version: verdict.version });
    // A later Vault version of the slot rolled back leaves the version the slot holds as it is.
    else if (own && verdict.version === own.version) await this.write({ ...own, state: "rolled_back" });
    if (verdict.verdict !== "promoted" || verdict.replacedSlot === undefined || verdict.replacedSlot === verdict.slot) return;
    const replaced = await this.find(provider, verdict.replacedSlot);
    if (replaced) await this.write({ ...replaced, state: "retired", replacedBy: verdict.credential });
  }

  private async find(provider: string, credentialId: string): Promise<RotationRecord | undefined> {
    try {
      const rows = await this.db.query("SELECT value FROM gateway_settings WHERE name = $1", [rowName(provider, credentialId)]);
      return rows[0] ? parseRecord(String(rows[0].value)) : undefined;
    } catch (err) {
      this.logger.error({ provider, credential: credentialId, error: (err as Error).message }, "could not read a key rotation record: a restart may not know this verdict");
      return undefined;
    }
  }

  private async write(record: RotationRecord): Promise<void> {
    try {
      await this.db.run("INSERT INTO gateway_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [
        rowName(record.provider, record.credentialId),
        JSON.stringify(record),
      ]);
    } catch (err) {
      this.logger.error(
        { provider: record.provider, credential: record.credentialId, state: record.state, error: (err as Error).message },
        "could not record a key rotation: a restart, or an instance that starts later, may not know it",
      );
    }
  }
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
