import pg from "pg";
import { PROBE_WRITE_SQL, StatementTimeoutError, WITHIN_DEADLINE, type QueryOptions, type SqlDatabase, type SqlExecutor, type SqlRow, type SqlValue } from "./sql.js";

const INT8_OID = 20;

/** SQLSTATE query_canceled: what statement_timeout ends a statement with. */
const QUERY_CANCELED = "57014";

/** statement_timeout does what SQLite's WITHIN_DEADLINE does: here it holds for every row. */
const portable = (sql: string) => sql.replaceAll(WITHIN_DEADLINE, "TRUE");

/**
 * Postgres, for several gateway instances sharing keys and one usage ledger.
 * A small pool; BIGINT columns come back as numbers (epoch milliseconds and
 * nano-unit costs stay far below 2^53).
 */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  private readonly pool: pg.Pool;

  constructor(connectionString: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    });
    // A client losing its connection must not crash the process: idle ones are reported on the pool, checked-out
    // ones on themselves (their query rejects on its own); the next query reconnects.
    this.pool.on("error", () => {});
    this.pool.on("connect", (client) => client.on("error", () => {}));
  }

  async query(sql: string, params: readonly SqlValue[] = [], options: QueryOptions = {}): Promise<SqlRow[]> {
    const { timeoutMs } = options;
    if (timeoutMs === undefined) return (await this.pool.query(portable(sql), params as SqlValue[])).rows as SqlRow[];
    // SET LOCAL: the timeout ends with the read's own transaction, never reaching the pooled connection's next user.
    return this.transaction(async (tx) => {
      await tx.run(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(timeoutMs))}`);
      return tx.query(sql, params);
    }).catch((err: unknown) => {
      throw (err as { code?: unknown }).code === QUERY_CANCELED ? new StatementTimeoutError(timeoutMs) : err;
    });
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.pool.query(sql, params as SqlValue[])).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlExecutor = {
      dialect: "postgres",
      query: async (sql, params = []) => (await client.query(portable(sql), params as SqlValue[])).rows as SqlRow[],
      run: async (sql, params = []) => (await client.query(sql, params as SqlValue[])).rowCount ?? 0,
    };
    try {
      await client.query("BEGIN");
      const result = await work(tx);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async probeWrite(): Promise<void> {
    // The server sees to its disk: a full one shows in the writes themselves ("could not extend file", SQLSTATE 53100).
    await this.run(PROBE_WRITE_SQL, [String(Date.now())]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
