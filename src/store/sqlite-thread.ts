// The embedded store's own thread: it holds the one SQLite connection and runs
// every statement, so that SQLite's work and the fsync at each commit never
// stall the event loop that serves calls. See sqlite-database.ts.
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import type { Database as SqliteDb } from "node-sqlite3-wasm";
import type { SqlValue } from "./sql.js";

/** What the thread is asked: `all` returns rows, `run` the number of rows changed, `exec` nothing. */
export type ThreadRequest =
  | { id: number; op: "all" | "run"; sql: string; params: SqlValue[] }
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
      return db.all(positional(request.sql), request.params);
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
