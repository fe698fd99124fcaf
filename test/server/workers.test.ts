import { existsSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planWorkers, usableCores } from "../../src/config/workers-config.js";
import { WorkerRestarts } from "../../src/server/worker-restarts.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.js";
import { createPostgresDatabase, tempDir } from "../support/stores.js";

const SQLITE = { kind: "sqlite", file: "/data/switchboard.db" } as const;
const POSTGRES = { kind: "postgres" } as const;

describe("SWITCHBOARD_WORKERS", () => {
  it("is one process outside production, one per core in production, and exactly what is asked for", () => {
    expect(planWorkers({}, POSTGRES, 8)).toEqual({ count: 1 });
    expect(planWorkers({ NODE_ENV: "production", REDIS_URL: "redis://r" }, POSTGRES, 8)).toEqual({ count: 8 });
    expect(planWorkers({ NODE_ENV: "production", REDIS_URL: "redis://r" }, POSTGRES, 200).count).toBe(64);
    expect(planWorkers({ SWITCHBOARD_WORKERS: "3", REDIS_URL: "redis://r" }, POSTGRES, 2)).toEqual({ count: 3 });
    expect(planWorkers({ SWITCHBOARD_WORKERS: "1", NODE_ENV: "production" }, SQLITE, 8)).toEqual({ count: 1 });
  });

  it("counts the cores a container may use: its CPU quota and what its memory limit holds", () => {
    const cores = availableParallelism();
    expect(usableCores(undefined, 0)).toBe(cores);
    expect(usableCores("max 100000", 0)).toBe(cores);
    expect(usableCores("50000 100000", 0)).toBe(1);
    expect(usableCores("150000 100000", 0)).toBe(Math.min(cores, 2));
    expect(usableCores(undefined, 512 * 1024 * 1024)).toBe(Math.min(cores, 2));
    expect(usableCores(undefined, 64 * 1024 * 1024)).toBe(1);
  });

  it("refuses anything but a whole number from 1 to 64, naming the variable", () => {
    for (const value of ["0", "65", "-1", "two", "1.5", "2x", "0x2"]) {
      expect(() => planWorkers({ SWITCHBOARD_WORKERS: value }, POSTGRES, 2), value).toThrow(
        `environment: SWITCHBOARD_WORKERS: "${value}" is not a whole number from 1 to 64`,
      );
    }
  });

  it("needs Postgres for several workers: refused when asked for, one worker with a notice when it is the production default", () => {
    expect(() => planWorkers({ SWITCHBOARD_WORKERS: "2" }, SQLITE, 2)).toThrow(/SWITCHBOARD_WORKERS: is 2, but the embedded SQLite store .* set DATABASE_URL/);
    const fallback = planWorkers({ NODE_ENV: "production" }, SQLITE, 4);
    expect(fallback.count).toBe(1);
    expect(fallback.notice).toMatch(/serving with one worker\. Set DATABASE_URL/);
  });

  it("says that limits, budgets and the cache are per worker without Redis", () => {
    expect(planWorkers({ SWITCHBOARD_WORKERS: "2" }, POSTGRES, 2).notice).toMatch(/without REDIS_URL: rate limits, budget spend counters and the response cache are kept per worker/);
  });
});

describe("worker restarts", () => {
  it("back off while crashes come close together, forgive old ones, and give up on a loop", () => {
    const restarts = new WorkerRestarts({ windowMs: 60_000, maxCrashes: 3, firstDelayMs: 100, maxDelayMs: 250 });
    expect(restarts.crashed(0)).toEqual({ restartInMs: 100 });
    expect(restarts.crashed(1_000)).toEqual({ restartInMs: 200 });
    expect(restarts.crashed(2_000)).toEqual({ restartInMs: 250 });
    expect(restarts.crashed(3_000)).toEqual({ giveUp: "4 worker crashes within 60 s" });
    // A minute later the early crashes are forgiven.
    expect(restarts.crashed(62_500)).toEqual({ restartInMs: 200 });
  });
});

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
});
afterAll(() => fake.close());

/** One Connect call on a connection of its own, so that the cluster's round robin hands it to the next worker. */
function chat(base: string, key: string, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/switchboard.v1.AIService/Chat`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", authorization: `Bearer ${key}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: text }] }));
  });
}

/** The JSON log lines written so far (the last one may be half written: skipped). */
function logLines(proc: GatewayProcess): Record<string, unknown>[] {
  return proc
    .output()
    .split("\n")
    .flatMap((line) => {
      try {
        return line.startsWith("{") ? [JSON.parse(line) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

/** The primary's one line once every worker listens: the port and the workers' pids. */
async function allListening(proc: GatewayProcess): Promise<{ base: string; pids: number[] }> {
  await expect
    .poll(() => logLines(proc).find((line) => line.workers !== undefined && line.port !== undefined), { timeout: 60_000, interval: 100 })
    .toBeDefined();
  const line = logLines(proc).find((l) => l.workers !== undefined && l.port !== undefined)!;
  return { base: `http://127.0.0.1:${line.port}`, pids: line.pids as number[] };
}

/** The pids that wrote a call's log line. */
function servedBy(proc: GatewayProcess): Set<number> {
  return new Set(logLines(proc).filter((line) => line.msg === "call").map((line) => line.pid as number));
}

describe("a gateway with SWITCHBOARD_WORKERS=2 on Postgres", () => {
  it("serves on both workers, restarts a killed one, and drains on SIGTERM with every completed call in the ledger", async () => {
    const db = await createPostgresDatabase();
    const key = "sk-test-the-workers-share-one-master-key";
    try {
      const dataDir = tempDir("sb-workers-");
      // Rows reach the store only at shutdown or from the journal: a killed worker's rows must come back from its journal.
      writeFileSync(join(dataDir, "switchboard.yaml"), "ledger:\n  flush_interval_ms: 600000\n  batch_size: 10000\n");
      const proc = spawnGateway({
        SWITCHBOARD_WORKERS: "2",
        SWITCHBOARD_CONFIG: join(dataDir, "switchboard.yaml"),
        DATABASE_URL: db.url,
        SWITCHBOARD_PEPPER: "a-pepper-the-workers-share-0123456789",
        SWITCHBOARD_MASTER_KEY: key,
        SWITCHBOARD_DATA_DIR: dataDir,
        OPENAI_API_KEY: "sk-up",
        OPENAI_BASE_URL: fake.baseUrl,
      });
      const { base, pids } = await allListening(proc);
      expect(pids).toHaveLength(2);

      let completed = 0;
      for (let i = 0; i < 8; i++) {
        const res = await chat(base, key, `before ${i}`);
        expect(res.status, res.body).toBe(200);
        completed++;
      }
      // Round robin over fresh connections: both workers served calls.
      await expect.poll(() => servedBy(proc), { timeout: 10_000 }).toEqual(new Set(pids));

      // A worker killed outright is replaced; its journaled rows are replayed by the one that takes its place.
      process.kill(pids[0]!, "SIGKILL");
      await expect.poll(() => /worker restarted and listening/.test(proc.output()), { timeout: 60_000, interval: 100 }).toBe(true);
      expect(proc.output()).toMatch(/a worker exited unexpectedly: restarting it/);
      expect(proc.output()).toMatch(/replaying usage ledger rows an earlier run had not stored/);
      for (let i = 0; i < 8; i++) {
        const res = await chat(base, key, `after ${i}`);
        expect(res.status, res.body).toBe(200);
        completed++;
      }
      // The surviving worker and its replacement.
      await expect.poll(() => servedBy(proc).size, { timeout: 10_000 }).toBe(3);

      // As systemd (KillMode=control-group) or a terminal's Ctrl-C does, every process hears the signal: a worker's second one must not cut its drain short.
      const restarted = logLines(proc).find((line) => line.msg === "worker restarted and listening")!.pid as number;
      proc.child.kill("SIGTERM");
      for (const pid of [pids[1]!, restarted]) process.kill(pid, "SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(proc.output()).not.toMatch(/did not drain cleanly/);
      // No worker, first or restarted, generated a master key of its own.
      expect(existsSync(join(dataDir, "master-key.generated"))).toBe(false);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query("SELECT COUNT(*)::int AS n FROM usage_ledger");
        expect(rows[0].n).toBe(completed);
      } finally {
        await client.end();
      }
    } finally {
      await db.drop();
    }
  });

  it("stops with the workers' failure when they cannot start, rather than restarting them in a loop", async () => {
    const proc = spawnGateway({
      SWITCHBOARD_WORKERS: "2",
      DATABASE_URL: "postgres://switchboard@127.0.0.1:1/none",
      SWITCHBOARD_PEPPER: "a-pepper-the-workers-share-0123456789",
      SWITCHBOARD_DATA_DIR: tempDir("sb-workers-"),
      SWITCHBOARD_MASTER_KEY: "sk-test",
    });
    // The workers' own exit code: an unreachable DATABASE_URL is a configuration error.
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toMatch(/a worker could not start: stopping the others/);
    expect(proc.output()).not.toMatch(/restarting it/);
  });

  it("refuses to start without SWITCHBOARD_MASTER_KEY: a generated key would not be the other instances' on the same database", async () => {
    const dataDir = tempDir("sb-workers-");
    const proc = spawnGateway({
      SWITCHBOARD_WORKERS: "2",
      // Never reached: the primary refuses before any worker opens the store.
      DATABASE_URL: "postgres://switchboard@127.0.0.1:1/none",
      SWITCHBOARD_PEPPER: "a-pepper-the-workers-share-0123456789",
      SWITCHBOARD_DATA_DIR: dataDir,
    });
    expect(await proc.exited).toBe(78);
    const output = proc.output().trim();
    expect(output.split("\n").filter((line) => !line.startsWith("{"))).toEqual([
      expect.stringMatching(/^switchboard: configuration error: environment: SWITCHBOARD_MASTER_KEY: is required with a Postgres store \(DATABASE_URL\): .*refused by the others/),
    ]);
    expect(output).not.toMatch(/a worker could not start/);
    expect(existsSync(join(dataDir, "master-key.digest"))).toBe(false);
  });

  it("says which address is taken when the port is in use, not a stack trace", async () => {
    const db = await createPostgresDatabase();
    // Another process holds the port (an OS-assigned one on loopback).
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const proc = spawnGateway({
        SWITCHBOARD_WORKERS: "2",
        PORT: String(port),
        DATABASE_URL: db.url,
        SWITCHBOARD_PEPPER: "a-pepper-the-workers-share-0123456789",
        SWITCHBOARD_MASTER_KEY: "sk-test-workers-port-taken",
        SWITCHBOARD_DATA_DIR: tempDir("sb-workers-"),
      });
      expect(await proc.exited).not.toBe(0);
      const output = proc.output();
      expect(output).toContain(`switchboard: cannot listen on 127.0.0.1:${port} (EADDRINUSE: another process is listening there; stop it or set PORT)`);
      expect(output).not.toMatch(/^\s+at /m);
      expect(output).toMatch(/a worker could not start: stopping the others/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
      await db.drop();
    }
  });

  it("refuses to start several workers on the embedded SQLite store, naming both variables", async () => {
    const proc = spawnGateway({ SWITCHBOARD_WORKERS: "2", SWITCHBOARD_DATA_DIR: tempDir("sb-workers-"), SWITCHBOARD_MASTER_KEY: "sk-test" });
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toMatch(/configuration error: environment: SWITCHBOARD_WORKERS: is 2, .*set DATABASE_URL/);
  });
});
