import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../observability/logger.js";
import { WorkerRestarts } from "./worker-restarts.js";

export interface WorkersOptions {
  count: number;
  logger: Logger;
  restarts?: WorkerRestarts;
  now?: () => number;
}

interface Running {
  worker: Worker;
  listening: boolean;
}

/**
 * The primary process under SWITCHBOARD_WORKERS=N (N > 1): it serves no calls.
 * It forks N workers that run `serve` on one shared port (node:cluster hands
 * each accepted connection to a worker, round robin), logs one line when all
 * listen, restarts a worker that dies (backing off, giving up on a crash loop),
 * and on SIGTERM or SIGINT passes the signal on and waits until every worker
 * has drained. Resolves with the process's exit code: 0 after a clean drain.
 */
export function superviseWorkers(options: WorkersOptions): Promise<number> {
  const { count, logger } = options;
  const restarts = options.restarts ?? new WorkerRestarts({ maxCrashes: Math.max(5, count) });
  const now = options.now ?? Date.now;
  const running = new Map<number, Running>();
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let announced = false;
  let stopping: { code: number } | undefined;
  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));

  const fork = (): void => {
    const worker = cluster.fork();
    running.set(worker.id, { worker, listening: false });
  };

  const stop = (code: number, signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = { code };
    for (const timer of pendingRestarts) clearTimeout(timer);
    pendingRestarts.clear();
    // Each worker drains on its own (app.shutdown), as a single gateway does.
    for (const { worker } of running.values()) worker.process.kill(signal);
    if (running.size === 0) done(code);
  };

  cluster.on("listening", (worker, address) => {
    const entry = running.get(worker.id);
    if (!entry || entry.listening) return;
    entry.listening = true;
    if (announced) {
      logger.info({ pid: worker.process.pid, port: address.port }, "worker restarted and listening");
      return;
    }
    if ([...running.values()].filter((r) => r.listening).length < count) return;
    announced = true;
    logger.info(
      { address: address.address, port: address.port, workers: count, pids: [...running.values()].map((r) => r.worker.process.pid) },
      `switchboard listening with ${count} workers (gRPC, gRPC-Web, Connect and HTTP/1.1 on one port)`,
    );
  });

  cluster.on("exit", (worker, code, signal) => {
    const entry = running.get(worker.id);
    running.delete(worker.id);
    const pid = worker.process.pid;
    if (stopping) {
      // A worker stopped before it listened had nothing to drain: the signal's default action is a clean end for it.
      const clean = code === 0 || (entry !== undefined && !entry.listening && signal !== null);
      if (!clean) {
        stopping.code ||= 1;
        logger.error({ pid, code, signal }, "a worker did not drain cleanly");
      }
      if (running.size === 0) done(stopping.code);
      return;
    }
    if (!announced && !entry?.listening) {
      // Before the gateway ever listened: the configuration or a dependency is wrong, and every restart would fail alike.
      logger.error({ pid, code, signal }, "a worker could not start: stopping the others");
      stop(code || 1, "SIGTERM");
      return;
    }
    const decision = restarts.crashed(now());
    if ("giveUp" in decision) {
      logger.error({ pid, code, signal }, `workers crash in a loop (${decision.giveUp}): giving up`);
      stop(1, "SIGTERM");
      return;
    }
    logger.warn({ pid, code, signal, restartInMs: decision.restartInMs }, "a worker exited unexpectedly: restarting it");
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      if (!stopping) fork();
    }, decision.restartInMs);
    pendingRestarts.add(timer);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info({ signal, workers: running.size }, "shutting down: the workers drain their in-flight calls");
      stop(0, signal);
    });
  }
  for (let i = 0; i < count; i++) fork();
  return finished;
}
