import pg from "pg";
import { DEFAULT_STORE_QUERY_TIMEOUT_MS } from "../config/usage-config.js";
import { PROBE_WRITE_SQL, StatementTimeoutError, WITHIN_DEADLINE, type QueryOptions, type SqlDatabase, type SqlExecutor, type SqlRow, type SqlValue } from "./sql.js";

const INT8_OID = 20;

/** SQLSTATE query_canceled: what statement_timeout ends a statement with. */
const QUERY_CANCELED = "57014";

/** statement_timeout does what SQLite's WITHIN_DEADLINE does: here it holds for every row. */
const portable = (sql: string) => sql.replaceAll(WITHIN_DEADLINE, "TRUE");

export interface PostgresOptions {
  max?: number;
  /**
   * How long a connection, or a statement outside a transaction, may go
   * unanswered (store.query_timeout_ms): the pool then gives up and drops the
   * connection, so a server that hangs (stopped, a network that drops
   * packets) holds no pooled client, nor its caller, for ever. A statement in
   * a transaction (migrations waiting on a lock, a report with its own
   * timeout) is not bounded by it; its BEGIN, COMMIT and ROLLBACK are.
   */
  queryTimeoutMs?: number;
}

/**
 * Postgres, for several gateway instances sharing keys and one usage ledger.
 * A small pool; BIGINT columns come back as numbers (epoch milliseconds and
 * nano-unit costs stay far below 2^53).
 */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly queryTimeoutMs: number;

  constructor(connectionString: string, options: PostgresOptions = {}) {
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_STORE_QUERY_TIMEOUT_MS;
    this.pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis: this.queryTimeoutMs,
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
    if (timeoutMs === undefined) return (await this.pool.query(this.bounded(portable(sql), params))).rows as SqlRow[];
    // SET LOCAL: the timeout ends with the read's own transaction, never reaching the pooled connection's next user.
    return this.transaction(async (tx) => {
      await tx.run(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(timeoutMs))}`);
      return tx.query(sql, params);
    }).catch((err: unknown) => {
      throw (err as { code?: unknown }).code === QUERY_CANCELED ? new StatementTimeoutError(timeoutMs) : err;
    });
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.pool.query(this.bounded(sql, params))).rowCount ?? 0;
  }

  /** A statement pg abandons past queryTimeoutMs unanswered; the pool then drops its connection (released with the error). */
  private bounded(text: string, params: readonly SqlValue[]): pg.QueryConfig {
    return { text, values: params as SqlValue[], query_timeout: this.queryTimeoutMs } as pg.QueryConfig;
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlExecutor = {
      dialect: "postgres",
      query: async (sql, params = []) => (await client.query(portable(sql), params as SqlValue[])).rows as SqlRow[],
      run: async (sql, params = []) => (await client.query(sql, params as SqlValue[])).rowCount ?? 0,
    };
    // Set when the connection cannot be trusted with another transaction: it is then dropped, not pooled again.
    let broken: Error | undefined;
    try {
      await client.query(this.bounded("BEGIN", []));
      const result = await work(tx);
      await client.query(this.bounded("COMMIT", []));
      return result;
    } catch (err) {
      await client.query(this.bounded("ROLLBACK", [])).catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      client.release(broken);
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
