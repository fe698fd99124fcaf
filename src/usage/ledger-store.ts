import { num, bool, StatementTimeoutError, WITHIN_DEADLINE, type SqlDatabase, type SqlRow, type SqlValue } from "../store/sql.js";
import { REPORT_LIMITS, ReportLane, reportTooSlow, type ReportLimits } from "./report-lane.js";

/** One call, as the usage ledger records it. */
export interface LedgerRow {
  /** When the call was admitted, epoch ms. */
  atMs: number;
  requestId: string;
  keyId: string;
  team: string;
  /** "chat", "chat_stream" or "embed". */
  method: string;
  /** The API the call came in on: "anthropic_messages", "openai_responses"; "" for the typed API and chat completions. */
  surface?: string;
  /** The provider that served (or was last tried); "" when refused before dispatch. */
  provider: string;
  requestedModel: string;
  /** The vendor's model name that served (or was last tried); "" when refused before dispatch. */
  servedModel: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Nano-units of `currency`. */
  costNanos: number;
  /** A cache hit's cost at the vendor, which the caller did not pay (nano-units); absent (0) when nothing was saved. */
  savedCostNanos?: number;
  currency: string;
  latencyMs: number;
  /** "ok", or the Connect code the caller got ("resource_exhausted", "unavailable", …). */
  status: string;
  cacheHit: boolean;
  downgraded: boolean;
  /** Every upstream attempt, in order: which candidates were tried, how each ended, and which served. */
  attempts: LedgerAttempt[];
  /** Unique per row, drawn when the row is queued: a row replayed from the journal is stored once. */
  rowKey?: string;
}

/** One upstream attempt as the ledger keeps it (stored as JSON in `attempt_log`). */
export interface LedgerAttempt {
  provider: string;
  model: string;
  /** "ok", or why it failed or was skipped ("rate_limited", "overloaded", "circuit_open", …). */
  outcome: string;
  ms: number;
  hedged: boolean;
}

export type UsageGroup = "provider" | "model" | "key" | "team" | "surface" | "day";

export interface UsageQuery {
  startMs: number;
  endMs: number;
  keyId?: string;
  team?: string;
  provider?: string;
  /** Matches the requested or the served model. */
  model?: string;
  surface?: string;
  groupBy: UsageGroup[];
  /** The width of the "day" group's buckets in ms, a whole number (charts: hours, minutes); a UTC day when unset. */
  bucketMs?: number;
  /** One page of the rows, in their order (which every group value breaks ties in, so pages neither skip nor repeat a row); every row when unset. */
  page?: { offset: number; limit: number };
}

export interface UsageTotals {
  provider?: string;
  model?: string;
  keyId?: string;
  team?: string;
  surface?: string;
  /** Start of the UTC day, epoch ms. */
  dayMs?: number;
  currency: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costNanos: number;
  downgraded: number;
  cacheHits: number;
  /** What the cache hits would have cost at the vendor. */
  savedCostNanos: number;
  meanLatencyMs: number;
}

const COLUMNS = [
  "at_ms",
  "request_id",
  "key_id",
  "team",
  "method",
  "provider",
  "requested_model",
  "served_model",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_nanos",
  "currency",
  "latency_ms",
  "status",
  "cache_hit",
  "downgraded",
  "attempts",
  "attempt_log",
  "row_key",
  "saved_cost_nanos",
  "surface",
] as const;

// Rows per INSERT statement: well under both engines' bound-parameter limits.
const ROWS_PER_STATEMENT = 200;

/** The most an INTEGER column holds on Postgres (token counts, latency): SQLite would take more, and sums would mislead. */
const MAX_INTEGER = 2_147_483_647;

const TEXT_FIELDS = ["requestId", "keyId", "team", "method", "provider", "requestedModel", "servedModel", "currency", "status"] as const;
const TOKEN_FIELDS = ["promptTokens", "completionTokens", "cachedTokens"] as const;

/**
 * Why the store cannot keep a row as it is, or undefined when it can: every
 * NOT NULL column has a value of its type, token counts are whole numbers from
 * 0 to an INTEGER's most, money and times whole (once rounded) and within
 * what a BIGINT and a JavaScript number both hold exactly. SQLite would store
 * a fraction or 1e30 without a word (and NaN as NULL, which NOT NULL refuses);
 * Postgres refuses them all: checked here, one such row never takes a batch
 * down with it.
 */
export function ledgerRowProblem(row: LedgerRow): string | undefined {
  if (typeof row !== "object" || row === null) return "not a row";
  for (const field of TEXT_FIELDS) if (typeof row[field] !== "string") return `${field} is not text`;
  if (row.surface !== undefined && typeof row.surface !== "string") return "surface is not text";
  if (row.rowKey !== undefined && typeof row.rowKey !== "string") return "rowKey is not text";
  if (!Number.isSafeInteger(row.atMs) || row.atMs < 0) return `atMs is ${describe(row.atMs)}, not a time in epoch ms`;
  for (const field of TOKEN_FIELDS) {
    const value = row[field];
    if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER) return `${field} is ${describe(value)}, not a whole number from 0 to ${MAX_INTEGER}`;
  }
  for (const field of ["costNanos", "savedCostNanos"] as const) {
    const value = row[field];
    if (field === "savedCostNanos" && value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(Math.round(value))) return `${field} is ${describe(value)}, not an amount of nano-units`;
  }
  if (typeof row.latencyMs !== "number" || !Number.isFinite(row.latencyMs) || row.latencyMs < 0 || Math.round(row.latencyMs) > MAX_INTEGER) {
    return `latencyMs is ${describe(row.latencyMs)}, not a duration in ms`;
  }
  if (typeof row.cacheHit !== "boolean" || typeof row.downgraded !== "boolean") return "cacheHit or downgraded is not true or false";
  if (!Array.isArray(row.attempts)) return "attempts is not a list";
  return undefined;
}

/** A value for a problem's wording: numbers as they are (NaN, 1e+30), anything else by its type. */
function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  return value === null ? "null" : value === undefined ? "missing" : `a ${typeof value}`;
}

/** A row the store cannot keep (see ledgerRowProblem): thrown by `insert` before anything is written. */
export class LedgerRowError extends Error {
  constructor(
    /** The row itself, as given to `insert`. */
    readonly row: LedgerRow,
    readonly problem: string,
  ) {
    super(`usage ledger row of request ${String(row?.requestId)}: ${problem}`);
    this.name = "LedgerRowError";
  }
}

const DAY_MS = 86_400_000;

/** The columns rows are grouped by; "day" is a time bucket (see `report`). */
const GROUP_COLUMNS: Record<Exclude<UsageGroup, "day">, string> = {
  provider: "provider",
  model: "served_model",
  key: "key_id",
  team: "team",
  surface: "surface",
};

/** What every report sums, per group. */
const SUMS = `COUNT(*) AS requests,
         SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS errors,
         SUM(prompt_tokens) AS prompt_tokens,
         SUM(completion_tokens) AS completion_tokens,
         SUM(cached_tokens) AS cached_tokens,
         SUM(cost_nanos) AS cost_nanos,
         SUM(CASE WHEN downgraded THEN 1 ELSE 0 END) AS downgraded,
         SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END) AS cache_hits,
         SUM(saved_cost_nanos) AS saved_cost_nanos,
         AVG(latency_ms) AS mean_latency_ms`;

/** The rows a query's window and filters select: a WHERE clause and its parameters. */
function matching(query: UsageQuery): { where: string; params: SqlValue[] } {
  const params: SqlValue[] = [query.startMs, query.endMs];
  const where = ["at_ms >= $1", "at_ms < $2"];
  const filter = (column: string, value: string | undefined): void => {
    if (value === undefined || value === "") return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  filter("key_id", query.keyId);
  filter("team", query.team);
  filter("provider", query.provider);
  filter("surface", query.surface);
  if (query.model) {
    params.push(query.model);
    where.push(`(served_model = $${params.length} OR requested_model = $${params.length})`);
  }
  // Last: checked on the rows the other conditions leave (SQLite's deadline; see QueryOptions).
  where.push(WITHIN_DEADLINE);
  return { where: where.join(" AND "), params };
}

function bucketWidth(query: UsageQuery): number {
  const bucketMs = query.bucketMs ?? DAY_MS;
  if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new RangeError(`bucketMs must be a positive whole number, not ${bucketMs}`);
  return bucketMs;
}

/** Integer division on both engines: epoch ms are BIGINT, the width a checked literal. */
const dayColumn = (bucketMs: number) => `(at_ms / ${bucketMs})`;

/** One row of sums as totals, with the groups it was selected by (`g_<group>`). */
function totalsOf(row: Record<string, unknown>, groups: readonly UsageGroup[], bucketMs: number): UsageTotals {
  return {
    provider: groups.includes("provider") ? String(row.g_provider) : undefined,
    model: groups.includes("model") ? String(row.g_model) : undefined,
    keyId: groups.includes("key") ? String(row.g_key) : undefined,
    team: groups.includes("team") ? String(row.g_team) : undefined,
    surface: groups.includes("surface") ? String(row.g_surface) : undefined,
    dayMs: groups.includes("day") ? num(row.g_day) * bucketMs : undefined,
    currency: String(row.currency),
    requests: num(row.requests),
    errors: num(row.errors),
    promptTokens: num(row.prompt_tokens),
    completionTokens: num(row.completion_tokens),
    cachedTokens: num(row.cached_tokens),
    costNanos: num(row.cost_nanos),
    downgraded: num(row.downgraded),
    cacheHits: num(row.cache_hits),
    savedCostNanos: num(row.saved_cost_nanos),
    meanLatencyMs: num(row.mean_latency_ms),
  };
}

/**
 * The usage ledger table: batched inserts, spend per key, and the sums behind
 * reports. Reports go through a lane of their own (ReportLane: a few at a
 * time, each cut at a timeout), so that they never hold the store from calls.
 */
export class LedgerStore {
  private readonly reports: ReportLane;
  private readonly reportTimeoutMs: number;

  constructor(
    private readonly db: SqlDatabase,
    reportLimits: ReportLimits = REPORT_LIMITS[db.dialect],
  ) {
    this.reports = new ReportLane(reportLimits);
    this.reportTimeoutMs = reportLimits.timeoutMs;
  }

  /**
   * Inserts rows in one transaction: all or none. A row whose `rowKey` is
   * already stored is skipped (a replay after a crash); resolves to the number
   * of rows inserted. A row the store cannot keep (ledgerRowProblem) is
   * refused before anything is written: LedgerRowError, naming it.
   */
  async insert(rows: readonly LedgerRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    for (const row of rows) {
      const problem = ledgerRowProblem(row);
      if (problem !== undefined) throw new LedgerRowError(row, problem);
    }
    return this.db.transaction(async (tx) => {
      let inserted = 0;
      for (let offset = 0; offset < rows.length; offset += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(offset, offset + ROWS_PER_STATEMENT);
        const params: SqlValue[] = [];
        const tuples = chunk.map((row) => {
          const start = params.length;
          params.push(
            row.atMs,
            row.requestId,
            row.keyId,
            row.team,
            row.method,
            row.provider,
            row.requestedModel,
            row.servedModel,
            row.promptTokens,
            row.completionTokens,
            row.cachedTokens,
            Math.round(row.costNanos),
            row.currency,
            Math.round(row.latencyMs),
            row.status,
            row.cacheHit,
            row.downgraded,
            row.attempts.length,
            JSON.stringify(row.attempts),
            row.rowKey ?? null,
            Math.round(row.savedCostNanos ?? 0),
            row.surface ?? "",
          );
          return `(${COLUMNS.map((_, i) => `$${start + i + 1}`).join(", ")})`;
        });
        inserted += await tx.run(`INSERT INTO usage_ledger (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT (row_key) DO NOTHING`, params);
      }
      return inserted;
    });
  }

  /**
   * Tells whether the store takes writes when no row is waiting: a real write
   * (see SqlDatabase.probeWrite), so that a lost connection, a read-only
   * database and a full disk all fail it.
   */
  async probe(): Promise<void> {
    await this.db.probeWrite();
  }

  /** What a key spent from `sinceMs` up to (not including) `beforeMs`, in nano-units. */
  async spend(keyId: string, sinceMs: number, beforeMs: number): Promise<number> {
    const [row] = await this.db.query("SELECT SUM(cost_nanos) AS spent FROM usage_ledger WHERE key_id = $1 AND at_ms >= $2 AND at_ms < $3", [
      keyId,
      sinceMs,
      beforeMs,
    ]);
    return num(row?.spent);
  }

  /** Which of these row keys the store has (a replay asks before it records a call that may have ended). */
  async storedRowKeys(rowKeys: readonly string[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (let offset = 0; offset < rowKeys.length; offset += ROWS_PER_STATEMENT) {
      const chunk = rowKeys.slice(offset, offset + ROWS_PER_STATEMENT);
      const found = await this.db.query(`SELECT row_key FROM usage_ledger WHERE row_key IN (${chunk.map((_, i) => `$${i + 1}`).join(", ")})`, [...chunk]);
      for (const row of found) stored.add(String(row.row_key));
    }
    return stored;
  }

  async report(query: UsageQuery): Promise<UsageTotals[]> {
    const { where, params } = matching(query);
    const groups = [...new Set(query.groupBy)];
    const bucketMs = bucketWidth(query);
    const column = (group: UsageGroup) => (group === "day" ? dayColumn(bucketMs) : GROUP_COLUMNS[group]);
    const selected = groups.map((group) => `${column(group)} AS g_${group}`);
    const groupBy = [...groups.map(column), "currency"];
    // The order below, made total by the group values (the output's aliases, on both engines), for pages.
    const order = [...(groups.includes("day") ? ["g_day"] : []), "cost_nanos DESC", "requests DESC", ...groups.filter((group) => group !== "day").map((group) => `g_${group}`), "currency"];
    const page = query.page;
    if (page && !(Number.isSafeInteger(page.offset) && page.offset >= 0 && Number.isSafeInteger(page.limit) && page.limit > 0)) {
      throw new RangeError(`a page is a whole offset from 0 and a positive limit, not ${JSON.stringify(page)}`);
    }
    const rows = await this.reportRead(
      `SELECT ${[...selected, "currency"].join(", ")}, ${SUMS}
       FROM usage_ledger
       WHERE ${where}
       GROUP BY ${groupBy.join(", ")}
       HAVING ${WITHIN_DEADLINE}
       ORDER BY ${order.join(", ")}${page ? ` LIMIT ${page.limit} OFFSET ${page.offset}` : ""}`,
      params,
    );
    const totals = rows.map((row) => totalsOf(row, groups, bucketMs));
    // By day when grouped by day, most expensive first otherwise.
    return totals.sort((a, b) => (a.dayMs ?? 0) - (b.dayMs ?? 0) || b.costNanos - a.costNanos || b.requests - a.requests);
  }

  /**
   * The totals per `group` and time bucket (query.bucketMs) of the `limit`
   * groups that cost the most (then made the most calls, then by name),
   * ranked in SQL; the other groups are summed per bucket (and currency) in
   * `rest`, so that a window with thousands of groups reads no more rows
   * than the buckets hold.
   */
  async topGroups(query: UsageQuery, group: Exclude<UsageGroup, "day">, limit: number): Promise<{ top: UsageTotals[]; rest: UsageTotals[]; folded: number }> {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`limit must be a positive whole number, not ${limit}`);
    const { where, params } = matching(query);
    const bucketMs = bucketWidth(query);
    const column = GROUP_COLUMNS[group];
    // A rank past the limit is 0, and its group's name NULL (no column is): the rest, one row per bucket.
    const rank = `CASE WHEN ranked.series_rank <= ${limit} THEN ranked.series_rank ELSE 0 END`;
    const name = `CASE WHEN ranked.series_rank <= ${limit} THEN ranked.grp END`;
    const rows = await this.reportRead(
      `WITH ranked AS (
         SELECT ${column} AS grp, ROW_NUMBER() OVER (ORDER BY SUM(cost_nanos) DESC, COUNT(*) DESC, ${column}) AS series_rank
         FROM usage_ledger
         WHERE ${where}
         GROUP BY ${column}
       )
       SELECT ${rank} AS series_rank, ${name} AS g_${group}, ${dayColumn(bucketMs)} AS g_day, currency, ${SUMS},
         (SELECT COUNT(*) FROM ranked) AS group_count
       FROM usage_ledger JOIN ranked ON ${column} = ranked.grp
       WHERE ${where}
       GROUP BY ${rank}, ${name}, ${dayColumn(bucketMs)}, currency
       HAVING ${WITHIN_DEADLINE}
       ORDER BY series_rank, g_day, currency`,
      params,
    );
    const top: UsageTotals[] = [];
    const rest: UsageTotals[] = [];
    for (const row of rows) (num(row.series_rank) > 0 ? top : rest).push(totalsOf(row, num(row.series_rank) > 0 ? [group, "day"] : ["day"], bucketMs));
    return { top, rest, folded: Math.max(0, num(rows[0]?.group_count) - limit) };
  }

  /** A report's statement, in the reports' lane and cut at their timeout: DeadlineExceeded then, saying how to ask for less. */
  private reportRead(sql: string, params: readonly SqlValue[]): Promise<SqlRow[]> {
    return this.reports.run(() =>
      this.db.query(sql, params, { timeoutMs: this.reportTimeoutMs }).catch((err: unknown) => {
        throw err instanceof StatementTimeoutError ? reportTooSlow(err.timeoutMs) : err;
      }),
    );
  }

  /** Rows with these request ids (tests and support: "was this call recorded?"). */
  async byRequestIds(requestIds: readonly string[]): Promise<LedgerRow[]> {
    if (requestIds.length === 0) return [];
    const rows = await this.db.query(
      `SELECT ${COLUMNS.join(", ")} FROM usage_ledger WHERE request_id IN (${requestIds.map((_, i) => `$${i + 1}`).join(", ")}) ORDER BY at_ms`,
      [...requestIds],
    );
    return rows.map((row) => ({
      atMs: num(row.at_ms),
      requestId: String(row.request_id),
      keyId: String(row.key_id),
      team: String(row.team),
      method: String(row.method),
      provider: String(row.provider),
      requestedModel: String(row.requested_model),
      servedModel: String(row.served_model),
      promptTokens: num(row.prompt_tokens),
      completionTokens: num(row.completion_tokens),
      cachedTokens: num(row.cached_tokens),
      costNanos: num(row.cost_nanos),
      currency: String(row.currency),
      latencyMs: num(row.latency_ms),
      status: String(row.status),
      cacheHit: bool(row.cache_hit),
      downgraded: bool(row.downgraded),
      attempts: JSON.parse(String(row.attempt_log)) as LedgerAttempt[],
      rowKey: row.row_key === null ? undefined : String(row.row_key),
      savedCostNanos: num(row.saved_cost_nanos) || undefined,
      surface: String(row.surface) || undefined,
    }));
  }
}
