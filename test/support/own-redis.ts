// A redis-server of one test's own, for tests that stop, pause or restart
// Redis under a gateway: the shared test Redis must never be disturbed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./services.js";

export interface OwnRedis {
  readonly url: string;
  /** SIGSTOP: Redis takes commands into its socket and answers none, then runs them on resume(). */
  pause(): void;
  resume(): void;
  /** SIGTERM (after a SIGCONT, should it be paused); with `keepData` the AOF is written first. */
  stop(): Promise<void>;
  /** Brings it back on the same port: with its data when `keepData`, empty otherwise. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  remove(): Promise<void>;
}

/** Starts a redis-server on a free loopback port; `keepData` keeps its data across restarts in an AOF fsynced at every write. */
export async function ownRedis(options: { keepData: boolean }): Promise<OwnRedis> {
  const port = await freePort();
  // Without data to keep, Redis writes no file (no snapshots, no AOF) and needs no directory.
  const dir = options.keepData ? mkdtempSync(join(tmpdir(), "sb-own-redis-")) : undefined;
  const persistence = dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] : ["--appendonly", "no"];
  let child: ChildProcess | undefined;

  const start = async () => {
    const started = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 15_000);
      started.stdout!.on("data", (chunk) => {
        log += chunk;
        if (log.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${log}`)));
    });
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once("exit", () => resolve());
      running.kill("SIGCONT");
      running.kill("SIGTERM");
    });

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    pause: () => child!.kill("SIGSTOP"),
    resume: () => child!.kill("SIGCONT"),
    stop,
    start,
    async remove() {
      await stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
