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
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
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
