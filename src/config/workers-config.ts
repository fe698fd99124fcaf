import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ConfigError } from "./config-error.js";
import type { StoreLocation } from "./usage-config.js";

/** More processes than this on one port is a typo, not a machine. */
export const MAX_WORKERS = 64;

/** What a worker may use at peak (the bench's RSS goal at concurrency 32): the default plans no more workers than the memory limit holds. */
const MEMORY_PER_WORKER = 200 * 1024 * 1024;

/** How many processes serve the port, and what to tell the operator about it. */
export interface WorkersPlan {
  count: number;
  /** Set when the default was lowered, or when workers count something per process: logged at start. */
  notice?: string;
}

/**
 * `SWITCHBOARD_WORKERS`: processes serving one port, sharing state as separate
 * instances do (the store, and Redis when REDIS_URL is set). Default: one per
 * usable core (`usableCores`) when NODE_ENV=production, else 1. Several workers need Postgres: the
 * embedded SQLite file has exactly one owner process. Asked for explicitly
 * without DATABASE_URL, that is a configuration error; the production default
 * falls back to one worker and says so.
 */
export function planWorkers(env: NodeJS.ProcessEnv, store: StoreLocation, cores = usableCores()): WorkersPlan {
  const raw = env.SWITCHBOARD_WORKERS?.trim();
  const explicit = raw !== undefined && raw !== "";
  let count: number;
  if (explicit) {
    count = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
      throw new ConfigError("environment", "SWITCHBOARD_WORKERS", `"${raw}" is not a whole number from 1 to ${MAX_WORKERS}`);
    }
  } else {
    count = env.NODE_ENV === "production" ? Math.min(Math.max(cores, 1), MAX_WORKERS) : 1;
  }
  if (count === 1) return { count };

  if (store.kind === "sqlite") {
    const why = `the embedded SQLite store (${store.file}) has one owner process`;
    if (explicit) {
      throw new ConfigError("environment", "SWITCHBOARD_WORKERS", `is ${count}, but ${why}: set DATABASE_URL (Postgres) to run several workers, or SWITCHBOARD_WORKERS=1`);
    }
    return {
      count: 1,
      notice: `NODE_ENV=production runs one worker per core (${count} here), but ${why}: serving with one worker. Set DATABASE_URL (Postgres) to use every core, or SWITCHBOARD_WORKERS=1 to silence this.`,
    };
  }
  const redis = env.REDIS_URL || env.REDIS_CLUSTER_NODES;
  return redis
    ? { count }
    : {
        count,
        notice:
          `${count} workers without REDIS_URL: rate limits, budget spend counters and the response cache are kept per worker, and a revoked key ` +
          `reaches the other workers at their next poll of the store, as with separate instances without Redis. Set REDIS_URL to share them.`,
      };
}

/**
 * The cores this process may use: the CPUs it may run on, lowered to its
 * cgroup's CPU quota (`cpu.max`, a container's CPU limit, which Node 20's
 * availableParallelism ignores), and to what its memory limit holds.
 */
export function usableCores(cpuMax = readIfPresent("/sys/fs/cgroup/cpu.max"), memoryLimit = process.constrainedMemory?.() ?? 0): number {
  let cores = availableParallelism();
  const [quota, period] = cpuMax?.trim().split(/\s+/) ?? [];
  if (quota && quota !== "max" && Number(period) > 0) cores = Math.min(cores, Math.max(1, Math.ceil(Number(quota) / Number(period))));
  // 0, or a huge number, when there is no limit.
  if (memoryLimit > 0) cores = Math.min(cores, Math.max(1, Math.floor(memoryLimit / MEMORY_PER_WORKER)));
  return cores;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
