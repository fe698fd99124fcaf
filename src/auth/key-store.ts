import { DEFAULT_KEY_RETIREMENT, type BudgetPeriodName, type ExhaustedActionName, type KeyRetirement } from "../config/usage-config.js";
import { bool, num, type SqlDatabase, type SqlExecutor, type SqlRow, type SqlValue } from "../store/sql.js";
import type { KeyRecord } from "./key-policy.js";
import { putSetting, settingValue } from "../store/settings-rows.js";

/** A gateway key's state, by name (the API's enum is GatewayKeyState, as BudgetPeriodName is to BudgetPeriod). */
export type GatewayKeyStateName = "active" | "expired" | "revoked";

export interface KeyListQuery {
  limit: number;
  /** The last key of the previous page (keys are listed oldest first). */
  after?: { createMs: number; id: string };
  team?: string;
  admin?: boolean;
  state?: GatewayKeyStateName;
  /** Keys whose display name, id or team holds this text, ignoring case. */
  search?: string;
  now: number;
}

/** Raised when a key id is taken. */
export class KeyExistsError extends Error {}

/**
 * A bound on the keys of a team, those an admin key made, or all of them,
 * counting each key while it is live and for KeyRetirement.countedMs after it
 * is revoked or expires (else a key made and revoked, or made with a ttl of a
 * second, would free its place at once, and a loop of them fill the store).
 * Checked in the transaction that would add one more.
 */
export interface KeyQuota {
  of: { team: string } | { createdBy: string } | "all";
  limit: number;
}

/** Raised when a key would take a quota past its limit: `counted` keys count against it already, retired ones for `countedMs` after. */
export class KeyQuotaError extends Error {
  constructor(
    readonly quota: KeyQuota,
    readonly counted: number,
    readonly countedMs: number,
  ) {
    super(`${counted} keys live or retired within ${countedMs} ms, and the quota is ${quota.limit}`);
  }
}

/** What UpdateKey may change, in the order of `settingsParams`. */
const SETTINGS = [
  "display_name",
  "team",
  "admin",
  "admin_read_only",
  "allowed_models",
  "requests_per_minute",
  "tokens_per_minute",
  "budget_nanos",
  "budget_period",
  "soft_threshold",
  "when_exhausted",
  "economy_models",
  "expire_ms",
];

const COLUMNS = ["id", "digest", "key_hint", ...SETTINGS, "create_ms", "update_ms", "revoke_ms", "created_by"].join(", ");

/** How many rows past their retention one key's creation deletes: more than it adds, so a backlog drains while keys are made. */
const PURGE_BATCH = 10;

// An arbitrary constant: the advisory lock that makes Postgres count and add keys under quotas, and delete retired ones, one at a time (SQLite's transactions already are).
const KEY_QUOTA_LOCK = 7_262_013;

/**
 * Gateway keys in the SQL store (SQLite or Postgres). Every change bumps one
 * generation counter in the same transaction and logs the key it was about,
 * which instances poll to evict that key from their caches when no Redis
 * carries the news faster. A revoked or expired key's row is deleted
 * `retirement.keptMs` after it retired, a few at each key's creation: the
 * table grows only by creations, so they keep it bounded without a timer.
 */
export class KeyStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly retirement: KeyRetirement = DEFAULT_KEY_RETIREMENT,
  ) {}

  /**
   * Adds a key, unless its id is taken (KeyExistsError) or it would take one
   * of `quotas` past its limit (KeyQuotaError). An id is taken while its key
   * is stored, and for good once it made a call: a deleted key's ledger rows,
   * cached answers and stored responses keep its id, and must not become
   * another key's.
   */
  async insert(record: KeyRecord, quotas: readonly KeyQuota[] = []): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        if ((await tx.query("SELECT 1 FROM gateway_keys WHERE id = $1", [record.id])).length > 0) throw new KeyExistsError(record.id);
        if ((await tx.query("SELECT 1 FROM usage_ledger WHERE key_id = $1 LIMIT 1", [record.id])).length > 0) throw new KeyExistsError(record.id);
        await purgeRetired(tx, record.createMs - this.retirement.keptMs);
        await checkQuotas(tx, quotas, record.createMs - this.retirement.countedMs, this.retirement.countedMs);
        await tx.run(`INSERT INTO gateway_keys (${COLUMNS}) VALUES (${placeholders(SETTINGS.length + 7)})`, toParams(record));
        await bump(tx, record.id);
      });
    } catch (err) {
      if (err instanceof KeyExistsError || /unique|duplicate key/i.test((err as Error).message)) throw new KeyExistsError(record.id);
      throw err;
    }
  }

  async findByDigest(digest: string): Promise<KeyRecord | undefined> {
    const [row] = await this.db.query(`SELECT ${COLUMNS} FROM gateway_keys WHERE digest = $1`, [digest]);
    return row ? fromRow(row) : undefined;
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const [row] = await this.db.query(`SELECT ${COLUMNS} FROM gateway_keys WHERE id = $1`, [id]);
    return row ? fromRow(row) : undefined;
  }

  async list(query: KeyListQuery): Promise<KeyRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const param = (value: SqlValue): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.team !== undefined) where.push(`team = ${param(query.team)}`);
    if (query.after) {
      // A row value over an index's leading columns (migration 14), which both stores seek: a page reads its own keys, not those before it.
      const [columns, values] = query.team === undefined ? ["create_ms, id", [query.after.createMs, query.after.id]] : ["team, create_ms, id", [query.team, query.after.createMs, query.after.id]];
      where.push(`(${columns}) > (${values.map(param).join(", ")})`);
    }
    if (query.admin !== undefined) where.push(`admin = ${param(query.admin)}`);
    if (query.search !== undefined) {
      // LIKE with its wildcards escaped: the text is matched as written. Both sides lower-cased by the same engine, so they fold alike.
      const pattern = param(`%${query.search.replace(/[\\%_]/g, "\\$&")}%`);
      where.push(`(${["display_name", "id", "team"].map((column) => `lower(${column}) LIKE lower(${pattern}) ESCAPE '\\'`).join(" OR ")})`);
    }
    if (query.state === "revoked") where.push("revoke_ms IS NOT NULL");
    if (query.state === "expired") where.push(`revoke_ms IS NULL AND expire_ms <= ${param(query.now)}`);
    if (query.state === "active") where.push(`revoke_ms IS NULL AND (expire_ms IS NULL OR expire_ms > ${param(query.now)})`);
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM gateway_keys ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY create_ms, id LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map(fromRow);
  }

  /**
   * Replaces a key's settings if its update time is still `readUpdateMs`, the
   * one the new settings were judged against (a compare-and-set: every change
   * moves the update time forward, see `nextUpdateMs`). False when the key
   * changed meanwhile, or does not exist: nothing is written. `quotas` are
   * those the key joins by the change (KeyQuotaError past one): the key as
   * it stands is not counted in them.
   */
  async update(record: KeyRecord, readUpdateMs: number, quotas: readonly KeyQuota[] = []): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await checkQuotas(tx, quotas, record.updateMs - this.retirement.countedMs, this.retirement.countedMs, record.id);
      const assignments = [...SETTINGS, "update_ms"].map((column, i) => `${column} = $${i + 2}`).join(", ");
      const expected = `$${SETTINGS.length + 3}`;
      const changed = await tx.run(`UPDATE gateway_keys SET ${assignments} WHERE id = $1 AND update_ms = ${expected}`, [
        record.id,
        ...settingsParams(record),
        record.updateMs,
        readUpdateMs,
      ]);
      if (changed > 0) await bump(tx, record.id);
      return changed > 0;
    });
  }

  /** Marks a key revoked (once: a second revocation keeps the first time); undefined when it does not exist. */
  async revoke(id: string, now: number): Promise<KeyRecord | undefined> {
    return this.db.transaction(async (tx) => {
      // The update time moves forward as nextUpdateMs has it, so an update judged against the key before it fails its compare-and-set.
      const changed = await tx.run(
        "UPDATE gateway_keys SET revoke_ms = $2, update_ms = CASE WHEN update_ms < $2 THEN $2 ELSE update_ms + 1 END WHERE id = $1 AND revoke_ms IS NULL",
        [id, now],
      );
      if (changed > 0) await bump(tx, id);
      const [row] = await tx.query(`SELECT ${COLUMNS} FROM gateway_keys WHERE id = $1`, [id]);
      return row ? fromRow(row) : undefined;
    });
  }

  /**
   * Records the pepper's check value the first time, and compares it after:
   * instances sharing a store must hash keys under the same pepper, or keys
   * made on one would not work on another. False on a mismatch, and, with
   * `record: false` (a pepper that must not become the store's), when none is
   * recorded yet.
   */
  async checkPepper(check: string, options: { record: boolean } = { record: true }): Promise<boolean> {
    // Instances starting together on a new store race to record it: the first write wins, and every one compares.
    if (options.record) await putSetting(this.db, "pepper_check", check, { replace: false });
    return (await settingValue(this.db, "pepper_check")) === check;
  }

  /** Grows with every change to any key. */
  async generation(): Promise<number> {
    const [row] = await this.db.query("SELECT generation FROM gateway_key_changes WHERE id = 1");
    return num(row?.generation);
  }

  /**
   * The ids of the keys changed after generation `after` up to `upTo` (read
   * from `generation()`), or undefined when the log no longer holds every
   * step between them: then any key may have changed.
   */
  async changedKeys(after: number, upTo: number): Promise<string[] | undefined> {
    if (upTo - after > CHANGE_LOG_STEPS) return undefined;
    const rows = await this.db.query("SELECT key_id FROM gateway_key_change_log WHERE generation > $1 AND generation <= $2", [after, upTo]);
    return rows.length === upTo - after ? [...new Set(rows.map((row) => String(row.key_id)))] : undefined;
  }
}

/**
 * Throws KeyQuotaError when one more key would pass one of `quotas`: keys
 * count unless revoked or expired at `retiredBefore` or earlier. Each count
 * is read from an index (team, created_by or neither, then revoke_ms and
 * expire_ms: migration 13) without touching a key's row. The key `changing`
 * (an update's) is left out of the counts it is already in: a key given a
 * later expiry a moment after it expired takes no second place.
 */
async function checkQuotas(tx: SqlExecutor, quotas: readonly KeyQuota[], retiredBefore: number, countedMs: number, changing?: string): Promise<void> {
  if (quotas.length === 0) return;
  // Two creations at once must not both see room for one: Postgres's READ COMMITTED would let them.
  if (tx.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [KEY_QUOTA_LOCK]);
  const counting = "(revoke_ms IS NULL OR revoke_ms > $1) AND (expire_ms IS NULL OR expire_ms > $1)";
  const [self] = changing === undefined ? [] : await tx.query(`SELECT team, created_by FROM gateway_keys WHERE id = $2 AND ${counting}`, [retiredBefore, changing]);
  for (const quota of quotas) {
    const among = quota.of === "all" ? undefined : "team" in quota.of ? { column: "team", value: quota.of.team } : { column: "created_by", value: quota.of.createdBy };
    const [row] = await tx.query(`SELECT COUNT(*) AS counted FROM gateway_keys WHERE ${among ? `${among.column} = $2 AND ` : ""}${counting}`, among ? [retiredBefore, among.value] : [retiredBefore]);
    const selfCounted = self !== undefined && (among === undefined || self[among.column] === among.value);
    const counted = num(row?.counted) - (selfCounted ? 1 : 0);
    if (counted >= quota.limit) throw new KeyQuotaError(quota, counted, countedMs);
  }
}

/**
 * Deletes up to PURGE_BATCH keys revoked or expired at `retiredBefore` or
 * earlier (read from the revoke_ms and expire_ms indexes). Nobody is told:
 * caches that hold such a key hold it as revoked or expired, which refuses
 * it as an unknown key would.
 */
async function purgeRetired(tx: SqlExecutor, retiredBefore: number): Promise<void> {
  // One creation at a time deletes: two deleting the same rows in different orders could deadlock on Postgres.
  if (tx.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [KEY_QUOTA_LOCK]);
  await tx.run("DELETE FROM gateway_keys WHERE id IN (SELECT id FROM gateway_keys WHERE revoke_ms <= $1 OR expire_ms <= $1 LIMIT $2)", [retiredBefore, PURGE_BATCH]);
}

/** How many steps of the change log are kept: far more than instances fall behind between two polls. */
const CHANGE_LOG_STEPS = 1_000;

/** Counts a change to key `id`, and logs which key it was, in the change's transaction. */
async function bump(tx: SqlExecutor, id: string): Promise<void> {
  await tx.run("UPDATE gateway_key_changes SET generation = generation + 1 WHERE id = 1");
  await tx.run("INSERT INTO gateway_key_change_log (generation, key_id) SELECT generation, CAST($1 AS TEXT) FROM gateway_key_changes WHERE id = 1", [id]);
  await tx.run("DELETE FROM gateway_key_change_log WHERE generation <= (SELECT generation FROM gateway_key_changes WHERE id = 1) - $1", [CHANGE_LOG_STEPS]);
}

function placeholders(count: number): string {
  return Array.from({ length: count }, (_, i) => `$${i + 1}`).join(", ");
}

function toParams(record: KeyRecord): SqlValue[] {
  return [record.id, record.digest, record.keyHint, ...settingsParams(record), record.createMs, record.updateMs, record.revokeMs ?? null, record.createdBy ?? ""];
}

function settingsParams(record: KeyRecord): SqlValue[] {
  return [
    record.displayName,
    record.team,
    record.admin,
    record.adminReadOnly ?? false,
    JSON.stringify(record.allowedModels),
    record.requestsPerMinute,
    record.tokensPerMinute,
    record.budget?.limitNanos ?? null,
    record.budget?.period ?? null,
    record.budget?.softThreshold ?? null,
    record.budget?.whenExhausted ?? null,
    JSON.stringify(record.economyModels),
    record.expireMs ?? null,
  ];
}

function fromRow(row: SqlRow): KeyRecord {
  const optional = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : num(value));
  return {
    id: String(row.id),
    digest: String(row.digest),
    keyHint: String(row.key_hint),
    displayName: String(row.display_name),
    team: String(row.team),
    admin: bool(row.admin),
    // Set only on the keys that have it (the record's field is optional: unset is false).
    ...(bool(row.admin_read_only) ? { adminReadOnly: true } : {}),
    allowedModels: JSON.parse(String(row.allowed_models)) as string[],
    requestsPerMinute: num(row.requests_per_minute),
    tokensPerMinute: num(row.tokens_per_minute),
    budget:
      row.budget_nanos === null || row.budget_nanos === undefined
        ? undefined
        : {
            limitNanos: num(row.budget_nanos),
            period: String(row.budget_period) as BudgetPeriodName,
            softThreshold: num(row.soft_threshold),
            whenExhausted: String(row.when_exhausted) as ExhaustedActionName,
          },
    economyModels: JSON.parse(String(row.economy_models)) as KeyRecord["economyModels"],
    expireMs: optional(row.expire_ms),
    // Set only on the keys that have it (keys from before migration 13 have '').
    ...(row.created_by ? { createdBy: String(row.created_by) } : {}),
    createMs: num(row.create_ms),
    updateMs: num(row.update_ms),
    revokeMs: optional(row.revoke_ms),
  };
}

/**
 * The update time a change made at `now` gives a key last changed at
 * `updateMs`: later than it even within the same millisecond (or on an
 * instance whose clock is behind), so that it tells every version apart.
 */
export function nextUpdateMs(updateMs: number, now: number): number {
  return Math.max(now, updateMs + 1);
}

export function keyState(record: KeyRecord, now = Date.now()): GatewayKeyStateName {
  if (record.revokeMs !== undefined) return "revoked";
  if (record.expireMs !== undefined && record.expireMs <= now) return "expired";
  return "active";
}
