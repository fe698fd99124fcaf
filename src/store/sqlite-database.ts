import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { Database as SqliteDb } from "node-sqlite3-wasm";
import type { SqlDatabase, SqlExecutor, SqlRow, SqlValue } from "./sql.js";

// node-sqlite3-wasm is CommonJS: SQLite compiled to WebAssembly, no native build.
const { Database } = createRequire(import.meta.url)("node-sqlite3-wasm") as typeof import("node-sqlite3-wasm");

// Files open in this process. The owner file cannot tell two connections of one
// process apart, and a second one would break the first's lock: refuse it.
const openInProcess = new Set<string>();

/**
 * The embedded store: a real SQLite file, through SQLite compiled to
 * WebAssembly. Calls are synchronous underneath; they are queued so a
 * transaction's statements never interleave with others, and they run off
 * the request path (the ledger writes in batches on a timer).
 *
 * The WASM build locks a file by creating a `<file>.lock` directory, which a
 * killed process leaves behind. One gateway owns the file (an owner file with
 * its pid): a lock left by a dead owner is removed at start, and a second live
 * process is refused with a clear message instead of "database is locked".
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  private readonly db: SqliteDb;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly ownerFile: string;
  private readonly file: string;

  constructor(file: string) {
    this.file = resolve(file);
    if (openInProcess.has(this.file)) throw new Error(`the usage database ${this.file} is already open in this process`);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.ownerFile = `${this.file}.owner`;
    claimOwnership(this.file, this.ownerFile);
    this.db = new Database(this.file);
    openInProcess.add(this.file);
    // One process owns the file: keep the lock for the connection's life (fewer
    // file-system calls per transaction); the journal is fsynced less often.
    this.db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  }

  query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.serial(() => this.queryNow(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.serial(() => this.runNow(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      const tx: SqlExecutor = {
        dialect: "sqlite",
        query: async (sql, params = []) => this.queryNow(sql, params),
        run: async (sql, params = []) => this.runNow(sql, params),
      };
      try {
        const result = await work(tx);
        this.db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      if (this.db.isOpen) this.db.close();
      rmSync(this.ownerFile, { force: true });
      openInProcess.delete(this.file);
    });
  }

  private queryNow(sql: string, params: readonly SqlValue[]): SqlRow[] {
    return this.db.all(positional(sql), params as SqlValue[]) as SqlRow[];
  }

  private runNow(sql: string, params: readonly SqlValue[]): number {
    return this.db.run(positional(sql), params as SqlValue[]).changes;
  }

  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** `$1` → `?1`: SQLite binds `?NNN` by number, as Postgres binds `$NNN`. */
function positional(sql: string): string {
  return sql.replace(/\$(\d+)/g, "?$1");
}

function claimOwnership(file: string, ownerFile: string): void {
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(ownerFile, "utf8").trim()) || undefined;
  } catch {
    owner = undefined;
  }
  if (owner !== undefined && owner !== process.pid && alive(owner)) {
    throw new Error(
      `the usage database ${file} is in use by process ${owner}: one gateway per SQLite file ` +
        `(set DATABASE_URL to share a Postgres database between instances)`,
    );
  }
  // The previous owner is gone: a lock it left behind is stale.
  rmSync(`${file}.lock`, { recursive: true, force: true });
  writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
