import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ConfigError } from "../config/config-error.js";
import { processAlive } from "./process-alive.js";
import {
  PROBE_WRITE_SQL,
  STATEMENT_TIMEOUT_MESSAGE,
  StatementTimeoutError,
  type QueryOptions,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
} from "./sql.js";
import type { ThreadReply, ThreadRequest } from "./sqlite-thread.js";

// Files open in this process. The owner file cannot tell two connections of one
// process apart, and a second one would break the first's lock: refuse it.
const openInProcess = new Set<string>();

/** What a probe writes beside the file: room for a batch of usage rows (a disk without it is as good as full). */
const PROBE_ROOM_BYTES = 64 * 1024;

/**
 * The embedded store: a real SQLite file, through SQLite compiled to
 * WebAssembly. SQLite itself is synchronous, so the connection lives on a
 * thread of its own (sqlite-thread.ts): its statements, and the fsync at
 * each commit, run there, never on the event loop that serves calls. Here,
 * calls are queued so that a transaction's statements never interleave with
 * others, and each is a message to the thread and back.
 *
 * The WASM build locks a file by creating a `<file>.lock` directory, which a
 * killed process leaves behind. One gateway owns the file (an owner file with
 * its pid): a lock left by a dead owner is removed at start, and a second live
 * process is refused with a clear message instead of "database is locked".
 * That refusal, and a directory the gateway cannot write, are configuration
 * errors: the operator's to fix, said in one line.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  private readonly thread: SqliteThread;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly ownerFile: string;
  private readonly file: string;

  /** `now`: the clock a read's deadline (QueryOptions.timeoutMs) is counted from; tests move it. */
  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = resolve(file);
    if (openInProcess.has(this.file)) throw new Error(`the usage database ${this.file} is already open in this process`);
    this.ownerFile = `${this.file}.owner`;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      claimOwnership(this.file, this.ownerFile);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // A read-only or foreign data directory (EROFS, EACCES, ENOTDIR…).
      throw new ConfigError(this.file, "", `cannot be written (${(err as Error).message}): the data directory (SWITCHBOARD_DATA_DIR) must be writable`);
    }
    this.thread = new SqliteThread(this.file);
    openInProcess.add(this.file);
  }

  query(sql: string, params: readonly SqlValue[] = [], options: QueryOptions = {}): Promise<SqlRow[]> {
    const { timeoutMs } = options;
    if (timeoutMs === undefined) return this.serial(() => this.thread.ask({ op: "all", sql, params: [...params] }) as Promise<SqlRow[]>);
    // The deadline counts from when the read reaches the thread, not from when it was queued.
    return this.serial(() =>
      (this.thread.ask({ op: "all", sql, params: [...params], deadlineMs: this.now() + timeoutMs }) as Promise<SqlRow[]>).catch((err: Error) => {
        throw err.message.includes(STATEMENT_TIMEOUT_MESSAGE) ? new StatementTimeoutError(timeoutMs) : err;
      }),
    );
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.serial(() => this.thread.ask({ op: "run", sql, params: [...params] }) as Promise<number>);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      await this.thread.ask({ op: "exec", sql: "BEGIN IMMEDIATE" });
      const tx: SqlExecutor = {
        dialect: "sqlite",
        query: (sql, params = []) => this.thread.ask({ op: "all", sql, params: [...params] }) as Promise<SqlRow[]>,
        run: (sql, params = []) => this.thread.ask({ op: "run", sql, params: [...params] }) as Promise<number>,
      };
      try {
        const result = await work(tx);
        await this.thread.ask({ op: "exec", sql: "COMMIT" });
        return result;
      } catch (err) {
        await this.thread.ask({ op: "rollback" }).catch(() => {});
        throw err;
      }
    });
  }

  async probeWrite(): Promise<void> {
    const scratch = `${this.file}.probe`;
    try {
      const handle = await open(scratch, "w", 0o600);
      try {
        await handle.write(Buffer.alloc(PROBE_ROOM_BYTES));
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw new Error(`no room to grow ${this.file} (${(err as Error).message})`);
    } finally {
      await rm(scratch, { force: true });
    }
    await this.run(PROBE_WRITE_SQL, [String(Date.now())]);
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.thread.close();
      rmSync(this.ownerFile, { force: true });
      openInProcess.delete(this.file);
    });
  }

  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

type Request = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, "id"> : never) : never;

/**
 * The thread holding the connection, and the requests waiting for its answer.
 * It keeps the process alive only while a request is waiting, as a
 * synchronous connection would.
 */
class SqliteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  /** Set once the thread is gone: every request from then on fails with it. */
  private gone: Error | undefined;
  /** Set by close: the thread keeps the process alive until it has exited, so a shutdown runs to its end. */
  private closing = false;

  constructor(file: string) {
    this.worker = startThread(file);
    this.worker.unref();
    this.worker.on("message", (reply: ThreadReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0 && !this.closing) this.worker.unref();
      if (reply.error !== undefined) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.value);
    });
    // Opening the file failed, or the thread died: say so to every caller.
    this.worker.on("error", (err) => this.stop(err));
    this.worker.on("exit", (code) => this.stop(new Error(`the SQLite thread stopped (exit code ${code})`)));
  }

  ask(request: Request): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async close(): Promise<void> {
    if (this.gone) return;
    this.closing = true;
    this.worker.ref();
    const exited = new Promise((resolve) => this.worker.once("exit", resolve));
    await this.ask({ op: "close" }).catch(() => {});
    await exited;
  }

  private stop(err: Error): void {
    this.gone ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.gone);
    this.waiting.clear();
  }
}

/**
 * The thread runs sqlite-thread.js beside this file. From the TypeScript
 * sources (tests, `tsx`), a thread cannot load .ts by itself: it registers
 * tsx first.
 */
function startThread(file: string): Worker {
  // Small young generation: the thread allocates little beyond the rows it passes on.
  const options = { workerData: { file }, resourceLimits: { maxYoungGenerationSizeMb: 4 } };
  const url = new URL(import.meta.url.endsWith(".ts") ? "./sqlite-thread.ts" : "./sqlite-thread.js", import.meta.url);
  if (!import.meta.url.endsWith(".ts")) return new Worker(url, options);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function claimOwnership(file: string, ownerFile: string): void {
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(ownerFile, "utf8").trim()) || undefined;
  } catch {
    owner = undefined;
  }
  if (owner !== undefined && owner !== process.pid && processAlive(owner)) {
    throw new ConfigError(
      file,
      "",
      `in use by process ${owner}: one gateway per SQLite file (set DATABASE_URL to share a Postgres database between instances)`,
    );
  }
  // The previous owner is gone: a lock it left behind is stale.
  rmSync(`${file}.lock`, { recursive: true, force: true });
  writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
}
