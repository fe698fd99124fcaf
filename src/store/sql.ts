/** A value bound to a query parameter. */
export type SqlValue = string | number | boolean | null;

/** One row as the driver returns it: numbers may come back as strings from Postgres (use `num`). */
export type SqlRow = Record<string, unknown>;

/**
 * The little SQL the gateway needs, on SQLite or Postgres. Queries are
 * written once, with `$1`, `$2`… parameters and portable SQL (BIGINT epoch
 * milliseconds for times, BOOLEAN, TEXT); the drivers take care of the rest.
 */
export interface SqlDatabase {
  readonly dialect: "sqlite" | "postgres";
  query(sql: string, params?: readonly SqlValue[], options?: QueryOptions): Promise<SqlRow[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Resolves when the store takes writes now, else throws what stops it: a
   * committed write (a lost connection, a read-only database) and, on SQLite,
   * room on the disk for the file to grow (a full disk still takes a write
   * that needs no new page).
   */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}

export type SqlExecutor = Pick<SqlDatabase, "query" | "run" | "dialect">;

export interface QueryOptions {
  /**
   * A read that may run long (a usage report over millions of rows): the
   * store cancels it past this many ms, and it rejects with
   * StatementTimeoutError. Postgres counts it with statement_timeout; SQLite
   * has no timeout of its own, so such a read must put WITHIN_DEADLINE in its
   * WHERE clause, where the store checks the clock as rows are read.
   */
  timeoutMs?: number;
}

/**
 * A condition for the WHERE (and HAVING) clause of a read with a timeout,
 * true for every row: on SQLite, a function of the store's thread that fails
 * the statement once its deadline has passed, checked as rows are read (a
 * sort in between is not cut: it ends first); Postgres reads it as TRUE.
 */
export const WITHIN_DEADLINE = "statement_within_deadline()";

/** What the thread's WITHIN_DEADLINE fails a statement with: how the store tells its own timeout from other errors. */
export const STATEMENT_TIMEOUT_MESSAGE = "statement timeout: the read ran past its deadline";

/** A read cancelled by the store at its `timeoutMs` (QueryOptions). */
export class StatementTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the statement ran past its timeout of ${timeoutMs} ms and was cancelled`);
    this.name = "StatementTimeoutError";
  }
}

/** The write a probe commits: one settings row rewritten, so no table grows and no id is drawn. */
export const PROBE_WRITE_SQL = "INSERT INTO gateway_settings (name, value) VALUES ('store_probe', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value";

/** A numeric column as a number (Postgres returns BIGINT sums as strings). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : Number(value);
}

/** A boolean column (SQLite stores 0/1). */
export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "t";
}
