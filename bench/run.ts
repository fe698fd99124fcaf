// What Switchboard costs per call, side by side with the floor for any Node
// gateway, measured in one run. Each server runs pinned to core 1; the fake
// vendor and the load generator run on core 0. The stable figure is CPU per
// call (the server process's utime + stime over exactly N calls), which holds
// up on a busy machine where throughput does not; rounds are interleaved and
// the median of each is shown.
//
// Usage: `npm run bench`. Knobs: BENCH_ROUNDS (3), BENCH_CALLS (2000 per CPU
// measure, at concurrency 32), BENCH_LATENCY_CALLS (300, at concurrency 1),
// BENCH_STREAMS (200), BENCH_BASELINE (the path of another checkout, built,
// whose gateway is measured beside this one), BENCH_TRACING (1: a second
// gateway with traces on, every call sampled and exported over OTLP to a sink,
// measured against the first; 0 to skip it), BENCH_ONLY (a pattern: only the
// rows whose names match, with their floors), BENCH_PEERS (1: Portkey's gateway
// and LiteLLM's proxy too, installed once into ~/.cache/switchboard/peers, the
// same calls in the shape each expects: bench/peers.ts), BENCH_CPU_PROF (a
// directory: each gateway writes a V8 CPU profile there, sampled every 200 µs,
// when it stops).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../gen/ts/switchboard/v1/admin_service_pb.js";
import type { Job, JobResult, Protocol } from "./load-generator.js";
import { startPeers, type Peer } from "./peers.js";
import { cpuMicros, memoryMb, startPinned, stopAll, untilQuiet, type Started } from "./support/processes.js";
import { startRedis } from "../test/support/services.js";

const ROOT = join(import.meta.dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const LATENCY_CALLS = Number(process.env.BENCH_LATENCY_CALLS ?? 300);
// 200 streams: CPU time is counted in 10 ms ticks, and a row of 50 fast streams spans only about 20 of them.
const STREAMS = Number(process.env.BENCH_STREAMS ?? 200);
const IDLE_SETTLE_MS = 60_000;
const CONCURRENCY = 32;
/** Calls before each unary measure, at its concurrency. */
const WARM_UP_CALLS = 1000;
const MASTER_KEY = "sk-bench-master-key-0123456789";
/** The model the instant vendor streams at its pace (a priced snapshot: the bench key has a budget). */
const PACED_MODEL = "gpt-4o-2024-11-20";
const SERVER_CORE = 1;
const CLIENT_CORE = 0;

/** A server under test: its process and where to call it. */
interface Server {
  name: string;
  started: Started;
  origin: string;
}

/** One row: a kind of call to one server, compared with a floor row. */
interface Row {
  name: string;
  server: Server;
  job: Omit<Job, "calls" | "concurrency" | "origin">;
  /** The row it is compared against (undefined for a floor itself). */
  floor?: Row;
  /** A second floor to compare with (gRPC: the bare HTTP/2 pass-through). */
  floor2?: Row;
}

interface Measure {
  cpuPerCall: number;
  throughput: number;
  p50: number;
  p99: number;
  firstToken?: number;
}

function generator(): Promise<{ run(job: Job): Promise<JobResult>; stop(): void }> {
  const child: ChildProcess = spawn("taskset", ["-c", String(CLIENT_CORE), process.execPath, "--import", "tsx", join(ROOT, "bench/load-generator.ts")], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve) => {
    child.once("message", () =>
      resolve({
        run: (job) =>
          new Promise((done) => {
            child.once("message", (result) => done(result as JobResult));
            child.send(job);
          }),
        stop: () => child.kill(),
      }),
    );
  });
}

async function startGateway(name: string, checkout: string, vendor: string, env: Record<string, string> = {}): Promise<Server> {
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-interval=200", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const started = await startPinned(SERVER_CORE, ["--enable-source-maps", ...profile, join(checkout, "dist/src/main.js"), "serve"], {
    PORT: "0",
    HOST: "127.0.0.1",
    SWITCHBOARD_MASTER_KEY: MASTER_KEY,
    OPENAI_API_KEY: "sk-bench-upstream",
    OPENAI_BASE_URL: `${vendor}/v1`,
    SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-bench-")),
    ...env,
  }, checkout);
  return { name, started, origin: `http://127.0.0.1:${started.port}` };
}

/** A gateway key with the pipeline's every policy on (scope, limits, budget), far from its limits. */
async function benchKey(gateway: Server): Promise<string> {
  const admin = createClient(AdminService, createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${MASTER_KEY}`), next(req))] }));
  const { secret } = await admin.createKey({
    key: { displayName: "bench", allowedModels: ["gpt-4o*"], requestsPerMinute: 10_000_000, tokensPerMinute: 2_000_000_000n, budget: { limit: { units: 900_000n } } },
  });
  return secret;
}

function rowsFor(gateway: Server, key: string, label: string, floors: { proxy: Row; grpc: Row; proxyLarge: Row; proxyStream: Row; proxyPaced: Row }, agentSurfaces = true): Row[] {
  const unary = (protocol: Protocol, model = "gpt-4o-mini", promptChars = 10) => ({ kind: "unary" as const, protocol, key, model, promptChars });
  const rows: Row[] = [
    { name: `${label}, REST /v1/chat/completions`, server: gateway, job: unary("rest"), floor: floors.proxy },
    { name: `${label}, Connect JSON`, server: gateway, job: unary("connect-json"), floor: floors.proxy },
    { name: `${label}, Connect binary`, server: gateway, job: unary("connect-binary"), floor: floors.proxy },
    { name: `${label}, gRPC`, server: gateway, job: unary("grpc"), floor: floors.proxy, floor2: floors.grpc },
    { name: `${label}, REST, 60 KB prompt and 20 KB answer`, server: gateway, job: unary("rest", "gpt-4o", 60_000), floor: floors.proxyLarge },
    { name: `${label}, Connect JSON, 60 KB prompt and 20 KB answer`, server: gateway, job: unary("connect-json", "gpt-4o", 60_000), floor: floors.proxyLarge },
    { name: `${label}, gRPC, 60 KB prompt and 20 KB answer`, server: gateway, job: unary("grpc", "gpt-4o", 60_000), floor: floors.proxyLarge },
    // The coding agents' surfaces: the same vendor call (Chat Completions) behind Anthropic's Messages and OpenAI's Responses API.
    { name: `${label}, REST /v1/messages (Anthropic)`, server: gateway, job: unary("anthropic-messages"), floor: floors.proxy },
    { name: `${label}, REST /v1/responses (stored)`, server: gateway, job: unary("openai-responses"), floor: floors.proxy },
    { name: `${label}, REST stream`, server: gateway, job: { ...unary("rest"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, /v1/messages stream`, server: gateway, job: { ...unary("anthropic-messages"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, /v1/responses stream`, server: gateway, job: { ...unary("openai-responses"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, Connect stream`, server: gateway, job: { ...unary("connect-binary"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, Connect JSON stream`, server: gateway, job: { ...unary("connect-json"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, gRPC stream`, server: gateway, job: { ...unary("grpc"), kind: "stream" }, floor: floors.proxyStream },
    { name: `${label}, REST stream at the vendor's pace`, server: gateway, job: { ...unary("rest", PACED_MODEL), kind: "stream" }, floor: floors.proxyPaced },
    { name: `${label}, Connect stream at the vendor's pace`, server: gateway, job: { ...unary("connect-binary", PACED_MODEL), kind: "stream" }, floor: floors.proxyPaced },
  ];
  // An older build (BENCH_BASELINE) may not serve them yet.
  return agentSurfaces ? rows : rows.filter((row) => row.job.protocol !== "anthropic-messages" && row.job.protocol !== "openai-responses");
}

/** Whether a gateway serves the coding agents' surfaces (a build from before them answers 404 ENDPOINT_NOT_FOUND). */
async function servesAgentSurfaces(gateway: Server): Promise<boolean> {
  const res = await fetch(`${gateway.origin}/v1/messages`, { method: "POST", headers: { "x-api-key": MASTER_KEY, "content-type": "application/json" }, body: "{}" });
  return !(res.status === 404 && (await res.text()).includes("endpoint_not_found"));
}

/** A peer gateway's rows (BENCH_PEERS=1): the same Chat Completions calls, with the headers the peer expects. */
function peerRows(peer: Peer, floors: { proxy: Row; proxyStream: Row }): Row[] {
  const job = { kind: "unary" as const, protocol: "rest" as const, model: "gpt-4o-mini", promptChars: 10, headers: peer.headers };
  return [
    { name: `${peer.name}, REST /v1/chat/completions`, server: peer, job, floor: floors.proxy },
    { name: `${peer.name}, REST stream`, server: peer, job: { ...job, kind: "stream" }, floor: floors.proxyStream },
  ];
}

/** A run in which any call failed fails its row: failed calls are fast, and would pass for a fast server. */
function succeeded(result: JobResult, calls: number): JobResult {
  if (result.errors > 0) throw new Error(`${result.errors} of ${calls} calls failed: ${result.firstError}`);
  return result;
}

async function measure(load: Awaited<ReturnType<typeof generator>>, row: Row): Promise<Measure> {
  const origin = row.server.origin;
  const pid = row.server.started.child.pid!;
  const stream = row.job.kind === "stream";
  // Warm up the JIT, the heap and the sockets at the measured concurrency: a server still compiling (its
  // compiler threads count in its CPU time) or growing its heap in the measured calls reads costlier than it is.
  const warmUp = stream ? 100 : WARM_UP_CALLS;
  succeeded(await load.run({ ...row.job, origin, calls: warmUp, concurrency: stream ? 8 : CONCURRENCY }), warmUp);
  const calls = stream ? STREAMS * 4 : CALLS;
  const before = cpuMicros(pid);
  const busy = succeeded(await load.run({ ...row.job, origin, calls, concurrency: stream ? 8 : CONCURRENCY }), calls);
  const cpuPerCall = (cpuMicros(pid) - before) / calls;
  const quietCalls = stream ? STREAMS : LATENCY_CALLS;
  const quiet = succeeded(await load.run({ ...row.job, origin, calls: quietCalls, concurrency: 1 }), quietCalls);
  const latencies = [...quiet.latencies].sort((a, b) => a - b);
  const firstTokens = [...quiet.firstTokens].sort((a, b) => a - b);
  return {
    cpuPerCall,
    throughput: (calls / busy.elapsedMs) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    firstToken: stream ? percentile(firstTokens, 50) : undefined,
  };
}

/**
 * The same gateway with tracing on: every call sampled (OTEL_TRACES_SAMPLER=always_on),
 * its spans batched and exported over OTLP/HTTP to a sink in this process
 * that answers at once (the SDK's default batching: at this rate a batch of
 * 512 spans leaves every fraction of a second, so each measure pays for its
 * own exports). Each row's ratio is to the same row with tracing off.
 */
async function tracedRows(vendor: string, rows: Row[]): Promise<Row[]> {
  const sink = createServer((req, res) => {
    req.resume();
    req.once("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sink.unref();
  const traced = await startGateway("switchboard, traced", ROOT, vendor, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    OTEL_TRACES_SAMPLER: "always_on",
  });
  const key = await benchKey(traced);
  const untraced = (name: string) => rows.find((row) => row.name === `switchboard, ${name}`)!;
  return ["REST /v1/chat/completions", "gRPC", "REST stream"].map((name) => ({
    name: `switchboard, tracing on (100%), ${name} (ratio: to tracing off)`,
    server: traced,
    job: { ...untraced(name).job, key },
    floor: untraced(name),
  }));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Answers from the response cache: a gateway whose gpt-4o-mini route caches
 * every call (`mode: always`, so the load generator's identical calls hit
 * after the first) answering from its memory (L1), and one with no memory
 * level answering from Redis (L2; skipped without redis-server). The floor,
 * the bare proxy, calls the vendor every time.
 */
async function cacheRows(vendor: string, floor: Row): Promise<{ rows: Row[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-cache-"));
  const config = (memoryEntries: number): string => {
    const file = join(dir, `cache-${memoryEntries}.yaml`);
    writeFileSync(file, `routes:\n  - { model: gpt-4o-mini, provider: openai, cache: { mode: always } }\ncache:\n  memory: { max_entries: ${memoryEntries} }\n`);
    return file;
  };
  const hit = async (server: Server, level: string): Promise<Row[]> => {
    const key = await benchKey(server);
    const job = (protocol: Protocol) => ({ kind: "unary" as const, protocol, key, model: "gpt-4o-mini", promptChars: 10 });
    return [
      { name: `switchboard, REST, ${level} cache hit`, server, job: job("rest"), floor },
      { name: `switchboard, gRPC, ${level} cache hit`, server, job: job("grpc"), floor },
    ];
  };
  const rows = await hit(await startGateway("switchboard, cache in memory", ROOT, vendor, { SWITCHBOARD_CONFIG: config(10_000) }), "L1");
  const redis = await startRedis().catch((err: Error) => void process.stderr.write(`no L2 cache rows: ${err.message}\n`));
  if (redis) {
    const env = { SWITCHBOARD_CONFIG: config(0), REDIS_URL: redis.env.SWITCHBOARD_TEST_REDIS_URL!, REDIS_PREFIX: "bench:" };
    rows.push(...(await hit(await startGateway("switchboard, cache in Redis", ROOT, vendor, env), "L2 (Redis)")));
  }
  return { rows, stop: async () => redis?.stop() };
}

async function main(): Promise<void> {
  const vendorStarted = await startPinned(CLIENT_CORE, ["--import", "tsx", "bench/instant-vendor.ts"], {}, ROOT);
  const vendor = `http://127.0.0.1:${vendorStarted.port}`;
  const proxy: Server = { name: "bare proxy", started: await startPinned(SERVER_CORE, ["--import", "tsx", "bench/bare-proxy.ts"], { UPSTREAM: vendor }, ROOT), origin: "" };
  proxy.origin = `http://127.0.0.1:${proxy.started.port}`;
  const grpc: Server = { name: "bare gRPC", started: await startPinned(SERVER_CORE, ["--import", "tsx", "bench/bare-grpc-proxy.ts"], { UPSTREAM: vendor }, ROOT), origin: "" };
  grpc.origin = `http://127.0.0.1:${grpc.started.port}`;
  const idle = await idleGateway(vendor);
  const gateway = await startGateway("switchboard", ROOT, vendor);

  const floors = {
    proxy: { name: "bare proxy (node:http in, undici out), REST", server: proxy, job: { kind: "unary", protocol: "rest", model: "gpt-4o-mini", promptChars: 10 } },
    grpc: { name: "bare gRPC pass-through (connect-node over h2c, undici out)", server: grpc, job: { kind: "unary", protocol: "grpc", model: "gpt-4o-mini", promptChars: 10 } },
    proxyLarge: { name: "bare proxy, 60 KB prompt and 20 KB answer", server: proxy, job: { kind: "unary", protocol: "rest", model: "gpt-4o", promptChars: 60_000 } },
    proxyStream: { name: "bare proxy, stream", server: proxy, job: { kind: "stream", protocol: "rest", model: "gpt-4o-mini", promptChars: 10 } },
    proxyPaced: { name: "bare proxy, stream at the vendor's pace", server: proxy, job: { kind: "stream", protocol: "rest", model: PACED_MODEL, promptChars: 10 } },
  } satisfies Record<string, Row>;
  const rows: Row[] = [floors.proxy, floors.grpc, floors.proxyLarge, floors.proxyStream, floors.proxyPaced, ...rowsFor(gateway, await benchKey(gateway), "switchboard", floors)];
  if (process.env.BENCH_TRACING !== "0") rows.push(...(await tracedRows(vendor, rows)));
  const cache = await cacheRows(vendor, floors.proxy);
  rows.push(...cache.rows);
  let baseline: Server | undefined;
  if (process.env.BENCH_BASELINE) {
    baseline = await startGateway("baseline", process.env.BENCH_BASELINE, vendor);
    rows.push(...rowsFor(baseline, await benchKey(baseline), "baseline", floors, await servesAgentSurfaces(baseline)));
  }
  const peers = new Set<Row>();
  if (process.env.BENCH_PEERS === "1") for (const peer of await startPeers(SERVER_CORE, vendor)) for (const row of peerRows(peer, floors)) rows.push(row), peers.add(row);

  // BENCH_ONLY: a pattern of row names to measure (with their floors), for a quicker look at a few.
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
  const wanted = (row: Row) => !only || only.test(row.name);
  const measured = rows.filter((row) => wanted(row) || rows.some((other) => wanted(other) && (other.floor === row || other.floor2 === row)));
  const idleRss = await idle.settled();
  const load = await generator();
  const results = new Map<Row, Measure[]>(measured.map((row) => [row, []]));
  const servers = [...new Set(measured.map((row) => row.server.started.child.pid!))];
  const failed = new Map<Row, string>(); // a row whose calls failed, and why: not measured again
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`round ${round} of ${ROUNDS}\n`);
    for (const row of measured.filter((row) => !failed.has(row))) {
      try {
        await untilQuiet(servers);
        results.get(row)!.push(await measure(load, row));
      } catch (err) {
        failed.set(row, (err as Error).message);
        process.stderr.write(`${row.name}: ${(err as Error).message}\n`);
      }
    }
  }
  load.stop();
  await cache.stop();

  const summary = new Map<Row, Measure>(
    [...results].filter(([row]) => !failed.has(row)).map(([row, measures]) => [
      row,
      {
        cpuPerCall: median(measures.map((m) => m.cpuPerCall)),
        throughput: median(measures.map((m) => m.throughput)),
        p50: median(measures.map((m) => m.p50)),
        p99: median(measures.map((m) => m.p99)),
        firstToken: measures[0]!.firstToken === undefined ? undefined : median(measures.map((m) => m.firstToken!)),
      },
    ]),
  );
  const baselinePeakRss = baseline && memoryMb(baseline.started.child.pid!).peak;
  print(measured, summary, failed, { idleRss, peakRss: memoryMb(gateway.started.child.pid!).peak, baselinePeakRss });
  // A peer's failures are its own (Portkey's streams fail on Node); any other row failing fails the bench.
  if ([...failed.keys()].some((row) => !peers.has(row))) process.exitCode = 1;
}

/**
 * A gateway that is never called, for its memory at rest: read just after its
 * start, then once V8's memory reducer has given back the young generation the
 * start-up grew (on a quiet machine 17 s after the start, from about 118 MB to
 * 89 MB; later when the machine is busy), or IDLE_SETTLE_MS after the start if
 * it has not by then. It runs beside the other servers' start and is stopped
 * before any measurement.
 */
async function idleGateway(vendor: string): Promise<{ settled(): Promise<IdleMemory> }> {
  const idle = await startGateway("idle", ROOT, vendor);
  const pid = idle.started.child.pid!;
  const since = Date.now();
  const afterStart = memoryMb(pid).rss;
  return {
    async settled() {
      let settled = memoryMb(pid).rss;
      while (settled > afterStart * 0.85 && Date.now() - since < IDLE_SETTLE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        settled = memoryMb(pid).rss;
      }
      idle.started.child.kill();
      return { afterStart, settled, afterMs: Date.now() - since };
    },
  };
}

interface IdleMemory {
  afterStart: number;
  settled: number;
  afterMs: number;
}

function print(rows: Row[], summary: Map<Row, Measure>, failed: Map<Row, string>, memory: { idleRss: IdleMemory; peakRss: number; baselinePeakRss?: number }): void {
  const ratio = (value: number, floor: number | undefined) => (floor === undefined ? "" : ` (${(value / floor).toFixed(2)}×)`);
  const ms = (value: number) => `${value.toFixed(3)} ms`;
  console.log(`\nSwitchboard bench, ${ROUNDS} interleaved rounds (medians); servers on core ${SERVER_CORE}, vendor and load generator on core ${CLIENT_CORE}; ${process.version}`);
  console.log(`CPU per call: the server's utime+stime over ${CALLS} calls at concurrency ${CONCURRENCY}; latency: ${LATENCY_CALLS} calls at concurrency 1. Ratios are to the floor row named in brackets.\n`);
  console.log("| path | CPU per call | throughput c=32 | p50 c=1 | p99 c=1 | added p50 |");
  console.log("|---|---|---|---|---|---|");
  for (const row of rows.filter((r) => r.job.kind === "unary")) {
    const m = summary.get(row);
    if (!m) {
      console.log(`| ${row.name} | failed: ${failed.get(row)} | | | | |`);
      continue;
    }
    const floor = row.floor && summary.get(row.floor);
    const second = row.floor2 && summary.get(row.floor2);
    const cpu = `${Math.round(m.cpuPerCall)} µs${ratio(m.cpuPerCall, floor?.cpuPerCall)}${second ? `, ${(m.cpuPerCall / second.cpuPerCall).toFixed(2)}× the gRPC floor` : ""}`;
    const rps = `${Math.round(m.throughput)}/s${ratio(m.throughput, floor?.throughput)}`;
    console.log(`| ${row.name} | ${cpu} | ${rps} | ${ms(m.p50)} | ${ms(m.p99)} | ${floor ? ms(m.p50 - floor.p50) : ""} |`);
  }
  console.log(`\nStreams (${process.env.BENCH_STREAM_CHUNKS ?? 200} chunks from the vendor at once, or 20 chunks 2 ms apart at the vendor's pace; concurrency 1):\n`);
  console.log("| path | CPU per stream | first token p50 | whole stream p50 |");
  console.log("|---|---|---|---|");
  for (const row of rows.filter((r) => r.job.kind === "stream")) {
    const m = summary.get(row);
    if (!m) {
      console.log(`| ${row.name} | failed: ${failed.get(row)} | | |`);
      continue;
    }
    const floor = row.floor && summary.get(row.floor);
    console.log(`| ${row.name} | ${Math.round(m.cpuPerCall)} µs${ratio(m.cpuPerCall, floor?.cpuPerCall)} | ${ms(m.firstToken!)}${floor ? ` (+${ms(m.firstToken! - floor.firstToken!)})` : ""} | ${ms(m.p50)}${ratio(m.p50, floor?.p50)} |`);
  }
  const { afterStart, settled, afterMs } = memory.idleRss;
  console.log(`\nGateway memory (RSS): ${Math.round(afterStart)} MB just after start, ${Math.round(settled)} MB at rest ${Math.round(afterMs / 1000)} s after it, ${Math.round(memory.peakRss)} MB peak under the load above${memory.baselinePeakRss === undefined ? "" : ` (the baseline: ${Math.round(memory.baselinePeakRss)} MB)`}.`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(stopAll);
