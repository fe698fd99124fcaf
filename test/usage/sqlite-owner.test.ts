// The SQLite file's owner check: a gateway killed with `kill -9` and not reaped yet (a zombie) does not hold the
// file, so a supervisor that restarts at once is not refused.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { tempDir } from "../support/stores.js";

/**
 * A zombie: a child that exited, whose parent (a `sleep`) never reaps it. Resolves to its pid, and a way to end it.
 * The child exits only once its shell has become the `sleep`: a shell still running reaps a child that exits early.
 */
async function zombie(): Promise<{ pid: number; end(): void }> {
  const script = 'shell=$$; (until [ "$(cat /proc/$shell/comm)" = sleep ]; do sleep 0.01; done) & echo $!; exec sleep 30';
  const parent = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  return { pid, end: () => parent.kill("SIGKILL") };
}

describe.skipIf(process.platform !== "linux")("the SQLite file's owner", () => {
  it("is not a process that died and was not reaped yet", async () => {
    const { pid, end } = await zombie();
    try {
      // The zombie still answers kill(pid, 0).
      await expect.poll(() => /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))).toBe(true);
      const file = join(tempDir(), "switchboard.db");
      writeFileSync(`${file}.owner`, `${pid}\n`);
      const db = new SqliteDatabase(file);
      await db.close();
    } finally {
      end();
    }
  });
});
