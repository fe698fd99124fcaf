// Several writers of the encrypted secrets file (two `switchboard secrets set` at once): the lock file keeps them
// apart, a crashed writer's lock is taken over safely, and a live writer's lock is never broken.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EncryptedFileStore, SecretStoreError } from "../../src/secrets/encrypted-file-store.js";
import { thrownBy } from "../support/failure.js";

const KEY = randomBytes(32);
// A pid no process has (above Linux's pid_max and macOS's).
const DEAD_PID = 2_147_483_646;
// A live process of this host that is not this one.
const LIVE_PID = process.ppid;
const WRITER = join(import.meta.dirname, "../support/secrets-file-writer.ts");

function secretsFile(): string {
  return join(mkdtempSync(join(tmpdir(), "sb-writers-")), "secrets.enc");
}

/** A lock file as a writer leaves it: its owner's pid, host and token. */
function lockOf(pid: number, host = hostname()): string {
  return `${JSON.stringify({ pid, host, token: randomBytes(8).toString("hex") })}\n`;
}

/** Back-dates a file: the tests move the lock's clock, not the machine's. */
function age(file: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  utimesSync(file, then, then);
}

function startWriter(file: string, prefix: string, count: number, clockAheadMs = 0): { child: ChildProcessWithoutNullStreams; ready: Promise<void>; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, file, KEY.toString("base64"), prefix, String(count), String(clockAheadMs)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", () => reject(new Error(`writer ${prefix} exited before it was ready: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
  return { child, ready, exited };
}

/** How many secrets each writer adds. */
const WRITES = 200;

describe("two writers of the encrypted secrets file at once", () => {
  it("each keep every secret they add, and a reader never finds the file torn, though a crashed writer left its lock and one writer's clock is a minute ahead", async () => {
    const file = secretsFile();
    writeFileSync(`${file}.lock`, lockOf(DEAD_PID), { mode: 0o600 });
    // Many writes each: a lock created empty and written after (CI, stop 35) was taken over by the writer whose clock
    // runs ahead, in the moment before its owner was written, about once in three runs of 300 writes each.
    const writers = [startWriter(file, "a", WRITES), startWriter(file, "b", WRITES, 60_000)];
    await Promise.all(writers.map((w) => w.ready));
    for (const { child } of writers) child.stdin.write("go\n");
    let done = false;
    const exits = Promise.all(writers.map((w) => w.exited)).finally(() => (done = true));
    // The gateway's side: reads without the lock, between renames.
    let reads = 0;
    const problems: string[] = [];
    while (!done) {
      try {
        new EncryptedFileStore(file, KEY).read();
        reads++;
      } catch (err) {
        problems.push((err as Error).message);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await exits).map(({ code, stderr }) => ({ code, stderr }))).toEqual([
      { code: 0, stderr: "" },
      { code: 0, stderr: "" },
    ]);
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const secrets = new EncryptedFileStore(file, KEY).read();
    const expected = ["a", "b"].flatMap((prefix) => Array.from({ length: WRITES }, (_, i) => `${prefix}-${i}`)).sort();
    expect([...secrets.keys()].sort()).toEqual(expected);
    for (const [name, secret] of secrets) expect(secret.value).toBe(`sk-${name}`);
    // No lock, guard or temporary file left behind.
    expect(readdirSync(join(file, ".."))).toEqual(["secrets.enc"]);
  }, 60_000);
});

describe("the secrets file's lock", () => {
  it("is taken over at once when the writer that holds it died (its pid is gone)", () => {
    const file = secretsFile();
    new EncryptedFileStore(file, KEY).set("before", "sk-before");
    writeFileSync(`${file}.lock`, lockOf(DEAD_PID), { mode: 0o600 });
    const store = new EncryptedFileStore(file, KEY, { lockWaitMs: 200 });
    expect(store.set("after", "sk-after")).toBe(false);
    expect([...store.read().keys()].sort()).toEqual(["after", "before"]);
    expect(readdirSync(join(file, ".."))).toEqual(["secrets.enc"]);
  });

  it("of a live writer on this host is waited for and never broken, however old it looks (a clock step, a slow disk)", () => {
    const file = secretsFile();
    new EncryptedFileStore(file, KEY).set("before", "sk-before");
    const before = readFileSync(file);
    const lock = lockOf(LIVE_PID);
    writeFileSync(`${file}.lock`, lock, { mode: 0o600 });
    age(`${file}.lock`, 3_600_000);
    const err = thrownBy(() => new EncryptedFileStore(file, KEY, { lockWaitMs: 200 }).set("after", "sk-after-0000"));
    expect(err).toBeInstanceOf(SecretStoreError);
    expect(err.message).toBe(`${file}: another writer (process ${LIVE_PID} on ${hostname()}) holds ${file}.lock; try again`);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readFileSync(`${file}.lock`, "utf8")).toBe(lock);
  });

  it("of a writer on another host is taken over once untouched for 30 s, and waited for before", () => {
    const file = secretsFile();
    writeFileSync(`${file}.lock`, lockOf(LIVE_PID, "elsewhere"), { mode: 0o600 });
    age(`${file}.lock`, 5_000);
    expect(thrownBy(() => new EncryptedFileStore(file, KEY, { lockWaitMs: 200 }).set("a", "sk-a")).message).toContain("(process");
    age(`${file}.lock`, 31_000);
    new EncryptedFileStore(file, KEY, { lockWaitMs: 200 }).set("a", "sk-a");
    expect(readdirSync(join(file, ".."))).toEqual(["secrets.enc"]);
  });

  it("left by a crashed writer is removed only by the writer holding its takeover guard, and a guard whose writer died is taken over too", () => {
    const file = secretsFile();
    const lockPath = `${file}.lock`;
    const lock = lockOf(DEAD_PID);
    writeFileSync(lockPath, lock, { mode: 0o600 });
    age(lockPath, 3_600_000);
    // Another writer judged it gone too, and is removing it: this one waits rather than remove a lock taken meanwhile.
    const guard = `${lockPath}.${statSync(lockPath).ino}.takeover`;
    writeFileSync(guard, lockOf(LIVE_PID), { mode: 0o600 });
    const store = new EncryptedFileStore(file, KEY, { lockWaitMs: 200 });
    expect(thrownBy(() => store.set("a", "sk-a"))).toBeInstanceOf(SecretStoreError);
    expect(readFileSync(lockPath, "utf8")).toBe(lock);
    // That writer died holding the guard.
    writeFileSync(guard, lockOf(DEAD_PID), { mode: 0o600 });
    expect(store.set("a", "sk-a")).toBe(false);
    expect(store.get("a")?.value).toBe("sk-a");
    expect(readdirSync(join(file, ".."))).toEqual(["secrets.enc"]);
  });
});

describe("a reader of the secrets file", () => {
  it("sees a rewrite of the same size in the same clock tick (a new file: another inode)", () => {
    const file = secretsFile();
    const writer = new EncryptedFileStore(file, KEY);
    const reader = new EncryptedFileStore(file, KEY);
    const at = new Date("2026-01-01T00:00:00Z");
    // The filesystem's clock is coarser than two writes: both get the same mtime.
    writer.set("openai", "sk-first-0000", at);
    utimesSync(file, at, at);
    expect(reader.get("openai")?.value).toBe("sk-first-0000");
    writer.set("openai", "sk-again-0000", at);
    utimesSync(file, at, at);
    expect(reader.get("openai")?.value).toBe("sk-again-0000");
  });
});
