import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { processAlive } from "../store/process-alive.js";

export interface LockFileOptions {
  /** How long to wait for a live holder before giving up (`LockBusyError`). */
  waitMs: number;
  /** A lock whose owner cannot be checked from here (another host, or none written) counts as abandoned once untouched this long. */
  staleMs: number;
}

/** Another process holds the lock; `holder` says which (pid and host). */
export class LockBusyError extends Error {
  constructor(
    readonly path: string,
    readonly holder: string,
  ) {
    super(`${path} is held by ${holder}`);
    this.name = "LockBusyError";
  }
}

/** What a lock file holds: whose it is, and a token drawn per acquisition (a pid is reused, a token is not). */
interface Owner {
  pid: number;
  host: string;
  token: string;
}

/** A lock file as read at one moment: its inode and text together, read through one descriptor. */
interface Seen {
  ino: number;
  mtimeMs: number;
  text: string;
  owner: Owner | undefined;
}

// Tokens of the locks this process holds: a lock with our pid and another token is an earlier life's (a container's pid 1).
const heldTokens = new Set<string>();

/**
 * Takes an exclusive lock file (`open(path, "wx")`) holding its owner's pid,
 * host and a token, and returns its release. A lock whose owner is gone is
 * taken over: on this host, a pid that is dead (at once: a crashed
 * `switchboard secrets set` holds up nobody); an owner this host cannot
 * check, only once untouched for `staleMs`. A live owner on this host is
 * waited for however old its lock looks (a clock step must not let two
 * writers in). The takeover is exclusive in turn (see `takeOver`).
 * Synchronous: the writers it keeps apart are processes, each with one thread.
 */
export function acquireLockFile(path: string, options: LockFileOptions): () => void {
  // Waiting is measured on a monotonic clock; only a lock's age is wall-clock (it is compared with its mtime).
  const deadline = performance.now() + options.waitMs;
  for (;;) {
    const release = createOwned(path);
    if (release) return release;
    const seen = look(path);
    if (!seen) continue; // released meanwhile
    if (abandoned(seen, options.staleMs) && takeOver(path, seen, options.staleMs, 0)) continue;
    if (performance.now() > deadline) throw new LockBusyError(path, holderOf(seen));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
}

/**
 * Creates `path` exclusively with our owner in it; undefined when it exists. Its release removes it only while it is still ours.
 * The file appears with its owner already written (linked from a file of our own): one created empty and written after
 * would show another writer a lock with no owner to check, judged by its age alone, and a writer whose clock runs ahead
 * would take over a live lock (two writers, one secret lost).
 */
function createOwned(path: string): (() => void) | undefined {
  const owner: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex") };
  const text = `${JSON.stringify(owner)}\n`;
  if (!linkWritten(path, text, owner.token)) return undefined;
  heldTokens.add(owner.token);
  return () => {
    heldTokens.delete(owner.token);
    try {
      // Taken over meanwhile (we were judged gone): the file is someone else's now.
      if (look(path)?.text === text) unlinkSync(path);
    } catch {
      // Never masks the work done under the lock: a lock left behind is taken over once this process is gone.
    }
  };
}

/** Writes `text` to a file of our own beside `path`, then links it as `path` (which fails if `path` exists); whether it did. */
function linkWritten(path: string, text: string, token: string): boolean {
  const own = `${path}.${token}.new`;
  writeFileSync(own, text, { mode: 0o600, flag: "wx" });
  try {
    linkSync(own, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // A filesystem without hard links: created exclusively, then written (the brief window without an owner is back).
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") return createThenWrite(path, text);
    throw err;
  } finally {
    try {
      unlinkSync(own);
    } catch {
      // Gone already: nothing is left beside the lock.
    }
  }
}

function createThenWrite(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    unlinkSync(path);
    throw err;
  }
  closeSync(fd);
  return true;
}

/**
 * Removes `path`, judged abandoned as `seen`; returns whether it did. Of the
 * writers that judged it so, only the one that creates its guard file acts,
 * and only if `path` is still the file it judged (same inode and text): a
 * fresh lock taken meanwhile is never removed by a writer that saw the old
 * one. A guard whose own writer died is taken over the same way.
 */
function takeOver(path: string, seen: Seen, staleMs: number, depth: number): boolean {
  const guard = `${path}.${seen.ino}.takeover`;
  const release = createOwned(guard);
  if (!release) {
    const guardSeen = look(guard);
    // Depth-bounded: a guard's guard is needed only when a writer died in the few calls it holds one.
    if (guardSeen && depth < 3 && abandoned(guardSeen, staleMs)) takeOver(guard, guardSeen, staleMs, depth + 1);
    return false;
  }
  try {
    const now = look(path);
    if (now?.ino !== seen.ino || now.text !== seen.text) return false;
    unlinkSync(path);
    return true;
  } finally {
    release();
  }
}

function abandoned(seen: Seen, staleMs: number): boolean {
  const owner = seen.owner;
  if (owner?.host === hostname()) return owner.pid === process.pid ? !heldTokens.has(owner.token) : !processAlive(owner.pid);
  return Date.now() - seen.mtimeMs > staleMs;
}

/** The file at `path` now, or undefined when there is none. */
function look(path: string): Seen | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const { ino, mtimeMs } = fstatSync(fd);
    const text = readFileSync(fd, "utf8");
    return { ino, mtimeMs, text, owner: parseOwner(text) };
  } finally {
    closeSync(fd);
  }
}

function parseOwner(text: string): Owner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    if (Number.isSafeInteger(owner.pid) && typeof owner.host === "string" && typeof owner.token === "string") return owner as Owner;
  } catch {
    // Being written, or left by an older version: no owner to check.
  }
  return undefined;
}

function holderOf(seen: Seen): string {
  return seen.owner ? `process ${seen.owner.pid} on ${seen.owner.host}` : "an unknown process";
}
