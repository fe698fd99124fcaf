// Throughput with SWITCHBOARD_WORKERS=1 and =2 on one port, side by side:
// the same gateway build on the same Postgres, interleaved rounds, medians.
// Unlike bench/run.ts nothing is pinned: the workers need every core, so the
// load generator and the vendor share them, and on a machine with few cores
// they take a good part of what a second worker would use. CPU per call is
// summed over the gateway's processes (primary and workers); the ceiling is
// the throughput at which the workers, the load generator and the vendor
// would use every core, with nothing else running.
//
// Usage: `npm run bench:workers`. Knobs: BENCH_ROUNDS (3),
// BENCH_CALLS (4000 per measure, at concurrency 32), BENCH_WORKERS (2).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Job, JobResult, Protocol } from "./load-generator.js";
import { cpuMicros, memoryMb } from "./support/processes.js";
import { startPostgres } from "../test/support/services.js";

const ROOT = join(import.meta.dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONCURRENCY = 32;
const CORES = availableParallelism();
const MASTER_KEY = "sk-bench-master-key-0123456789";

interface Gateway {
  workers: number;
  child: ChildProcess;
  origin: string;
  key: string;
}

/** Starts `node <args>` and resolves with the child once its output matches `ready` (the match's first group is returned too). */
function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = ready.exec(seen);
      if (!match) return;
      child.stdout!.off("data", onData);
      child.stdout!.resume();
      resolve({ child, match: match[1]! });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

async function startGateway(workers: number, vendor: string, databaseUrl: string): Promise<Gateway> {
  // With several workers, the primary's one line once all listen; with one, the gateway's own.
  const ready = workers > 1 ? /"port":(\d+),"workers"/ : /"port":(\d+)/;
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    SWITCHBOARD_WORKERS: String(workers),
    DATABASE_URL: databaseUrl,
    SWITCHBOARD_MASTER_KEY: MASTER_KEY,
    // The two gateways share the store, so they share the pepper its key digests are made with.
    SWITCHBOARD_PEPPER: "bench-pepper-0123456789abcdef",
    OPENAI_API_KEY: "sk-bench-upstream",
    OPENAI_BASE_URL: `${vendor}/v1`,
    SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-bench-workers-")),
  };
  const { child, match } = await start(["--enable-source-maps", "dist/src/main.js", "serve"], env, ready);
  const origin = `http://127.0.0.1:${match}`;
  return { workers, child, origin, key: await createKey(origin) };
}

/** A gateway key with scope, limits and a budget, far from its limits: the whole pipeline runs. */
async function createKey(origin: string): Promise<string> {
  const res = await fetch(`${origin}/switchboard.v1.AdminService/CreateKey`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({
      key: { displayName: "bench", allowedModels: ["gpt-4o*"], requestsPerMinute: 10_000_000, tokensPerMinute: "2000000000", budget: { limit: { units: "900000" } } },
    }),
  });
  if (res.status !== 200) throw new Error(`CreateKey: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { secret: string }).secret;
}

/** The gateway's processes: the primary and, under SWITCHBOARD_WORKERS, its workers. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return [pid, ...(children ? children.split(" ").map(Number) : [])];
}

function treeCpuMicros(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + cpuMicros(each), 0);
}

async function generator(): Promise<{ pid: number; run(job: Job): Promise<JobResult>; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/load-generator.ts"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise((resolve) => child.once("message", resolve)); // ready
  return {
    pid: child.pid!,
    run: (job) =>
      new Promise((done) => {
        child.once("message", (result) => done(result as JobResult));
        child.send(job);
      }),
    stop: () => child.kill(),
  };
}

interface Measure {
  throughput: number;
  /** Over all the gateway's processes. */
  cpuPerCall: number;
  /** The load generator's and the vendor's, which share the cores. */
  clientCpuPerCall: number;
}

async function measure(load: Awaited<ReturnType<typeof generator>>, vendorPid: number, gateway: Gateway, protocol: Protocol): Promise<Measure> {
  const job = { kind: "unary" as const, protocol, key: gateway.key, model: "gpt-4o-mini", promptChars: 10, origin: gateway.origin };
  await load.run({ ...job, calls: 400, concurrency: CONCURRENCY }); // warm up every worker's JIT and sockets
  const client = () => cpuMicros(load.pid) + cpuMicros(vendorPid);
  const [before, clientBefore] = [treeCpuMicros(gateway.child.pid!), client()];
  const result = await load.run({ ...job, calls: CALLS, concurrency: CONCURRENCY });
  if (result.errors > 0) throw new Error(`${gateway.workers} workers, ${protocol}: ${result.errors} calls failed: ${result.firstError}`);
  return {
    throughput: (CALLS / result.elapsedMs) * 1000,
    cpuPerCall: (treeCpuMicros(gateway.child.pid!) - before) / CALLS,
    clientCpuPerCall: (client() - clientBefore) / CALLS,
  };
}

/** SIGTERM, then the wait for the drain: the store must outlive the gateway's last ledger write. */
function stopped(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  return exited;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  const stops: (() => unknown)[] = [() => postgres.stop()];
  try {
    const vendor = await start(["--import", "tsx", "bench/instant-vendor.ts"], {}, /"port":(\d+)/);
    stops.unshift(() => vendor.child.kill());
    const databaseUrl = postgres.env.SWITCHBOARD_TEST_DATABASE_URL!;
    const gateways: Gateway[] = [];
    for (const workers of [1, WORKERS]) {
      const gateway = await startGateway(workers, `http://127.0.0.1:${vendor.match}`, databaseUrl);
      gateways.push(gateway);
      stops.unshift(() => stopped(gateway.child));
    }
    const load = await generator();
    stops.unshift(() => load.stop());

    const protocols: Protocol[] = ["rest", "grpc"];
    const results = new Map<string, Measure[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`round ${round} of ${ROUNDS}\n`);
      for (const protocol of protocols) {
        for (const gateway of gateways) {
          const name = `${protocol}/${gateway.workers}`;
          results.set(name, [...(results.get(name) ?? []), await measure(load, vendor.child.pid!, gateway, protocol)]);
        }
      }
    }

    console.log(`\nSWITCHBOARD_WORKERS, ${ROUNDS} interleaved rounds (medians), ${CALLS} calls at concurrency ${CONCURRENCY}; nothing pinned: the load generator and the vendor share the machine's cores with the workers; ${process.version}\n`);
    console.log(`| path | 1 worker | ${WORKERS} workers | throughput × | gateway CPU per call (all its processes), 1 / ${WORKERS} workers | load generator + vendor CPU per call | ${WORKERS} workers' ceiling here |`);
    console.log("|---|---|---|---|---|---|---|");
    for (const protocol of protocols) {
      const one = results.get(`${protocol}/1`)!;
      const many = results.get(`${protocol}/${gateways[1]!.workers}`)!;
      const [t1, tn] = [median(one.map((m) => m.throughput)), median(many.map((m) => m.throughput))];
      const [c1, cn] = [median(one.map((m) => m.cpuPerCall)), median(many.map((m) => m.cpuPerCall))];
      const client = median([...one, ...many].map((m) => m.clientCpuPerCall));
      // Every core busy with the workers, the load generator and the vendor, and nothing else running.
      const ceiling = Math.min((WORKERS * 1_000_000) / cn, (CORES * 1_000_000) / (cn + client));
      console.log(
        `| ${protocol} | ${Math.round(t1)}/s | ${Math.round(tn)}/s | ${(tn / t1).toFixed(2)}× | ${Math.round(c1)} µs / ${Math.round(cn)} µs | ${Math.round(client)} µs | ${Math.round(ceiling)}/s (${(ceiling / t1).toFixed(2)}×) |`,
      );
    }
    console.log("\nThe cluster spreads connections, not calls: the load generator's gRPC client multiplexes every call over one HTTP/2 connection, which one worker serves.");
    const [primary, ...workers] = processTree(gateways[1]!.child.pid!).map((pid) => Math.round(memoryMb(pid).peak));
    console.log(`\nPeak RSS with ${WORKERS} workers: primary ${primary} MB, workers ${workers.join(" and ")} MB; one worker alone: ${Math.round(memoryMb(gateways[0]!.child.pid!).peak)} MB.`);
  } finally {
    for (const stop of stops) await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
