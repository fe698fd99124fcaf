// The embedded store's own thread: it holds the one SQLite connection and runs
// every statement, so that SQLite's work and the fsync at each commit never
// stall the event loop that serves calls. See sqlite-database.ts.
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import type { Database as SqliteDb } from "node-sqlite3-wasm";
import { STATEMENT_TIMEOUT_MESSAGE, WITHIN_DEADLINE, type SqlValue } from "./sql.js";

/**
 * What the thread is asked: `all` returns rows, `run` the number of rows
 * changed, `exec` nothing. An `all` with `deadlineMs` (epoch ms) fails past
 * it, where its SQL checks WITHIN_DEADLINE.
 */
export type ThreadRequest =
  | { id: number; op: "all"; sql: string; params: SqlValue[]; deadlineMs?: number }
  | { id: number; op: "run"; sql: string; params: SqlValue[] }
  | { id: number; op: "exec"; sql: string }
  | { id: number; op: "rollback" | "close" };

export type ThreadReply = { id: number; value?: unknown; error?: undefined } | { id: number; error: string };

// node-sqlite3-wasm is CommonJS: SQLite compiled to WebAssembly, no native build.
// Compiled by V8's baseline compiler only: optimising SQLite's huge functions
// took about 40 MB of memory that the process kept, and seconds of CPU, for
// statements about 15% faster once done. The flag is read when a module is
// compiled, so it is set for this one alone (undici's parser keeps the default).
setFlagsFromString("--liftoff-only");
let sqlite: typeof import("node-sqlite3-wasm");
try {
  sqlite = createRequire(import.meta.url)("node-sqlite3-wasm") as typeof import("node-sqlite3-wasm");
} finally {
  setFlagsFromString("--no-liftoff-only");
}
const { Database } = sqlite;

const db: SqliteDb = new Database((workerData as { file: string }).file);
// One process owns the file: keep the lock for the connection's life (fewer
// file-system calls per transaction); the journal is fsynced less often.
db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");

// SQLite has no statement timeout, and this build no interrupt or progress
// handler: a long read (a usage report) checks its deadline as it reads rows,
// through this function in its WHERE and HAVING clauses; its error ends the
// statement. The clock is read at every call (tens of ns, against some
// hundreds for the call itself): HAVING calls it once per group, after the
// sort, and a report of three groups must still see the time.
let deadlineMs = Infinity;
db.function(WITHIN_DEADLINE.slice(0, WITHIN_DEADLINE.indexOf("(")), () => {
  if (Date.now() >= deadlineMs) throw new Error(STATEMENT_TIMEOUT_MESSAGE);
  return 1;
});

parentPort!.on("message", (request: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    reply = { id: request.id, value: perform(request) };
  } catch (err) {
    reply = { id: request.id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
  if (request.op === "close") parentPort!.close();
});

function perform(request: ThreadRequest): unknown {
  switch (request.op) {
    case "all":
      deadlineMs = request.deadlineMs ?? Infinity;
      try {
        return db.all(positional(request.sql), request.params);
      } finally {
        deadlineMs = Infinity;
      }
    case "run":
      return db.run(positional(request.sql), request.params).changes;
    case "exec":
      db.exec(request.sql);
      return undefined;
    case "rollback":
      if (db.isOpen && db.inTransaction) db.exec("ROLLBACK");
      return undefined;
    case "close":
      if (db.isOpen) db.close();
      return undefined;
  }
}

/** `$1` → `?1`: SQLite binds `?NNN` by number, as Postgres binds `$NNN`. */
function positional(sql: string): string {
  return sql.replace(/\$(\d+)/g, "?$1");
}
