// The chaos benchmark: success rate, latency and upstream amplification of
// calls through Switchboard when its vendors fail 8% of calls (429, 500, 503,
// resets, hangs): with the defaults as a first deployment has them (one key,
// no fallback, no timeout set), with and without adaptive timeouts, then with
// traffic shaping off, with retries only, and with retries + failover +
// breakers (and hedging). A second table adds a hard outage of the primary
// vendor mid-run. Everything runs on loopback: the flaky vendors in one
// process, each gateway configuration in its own.
//
// Usage: `npm run bench:chaos` (or `npx tsx bench/chaos/run.ts`).
// Knobs: CHAOS_CALLS (3000), CHAOS_CONCURRENCY (32), CHAOS_FAILURE_RATE (0.08),
// CHAOS_LATENCY_MS (20), CHAOS_ATTEMPT_TIMEOUT_MS (1000; not for the default rows), CHAOS_RETRY_AFTER_MS (0), CHAOS_SEED.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool, request } from "undici";

const ROOT = join(import.meta.dirname, "..", "..");
const CALLS = Number(process.env.CHAOS_CALLS ?? 3000);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 32);
const FAILURE_RATE = Number(process.env.CHAOS_FAILURE_RATE ?? 0.08);
const ATTEMPT_TIMEOUT_MS = Number(process.env.CHAOS_ATTEMPT_TIMEOUT_MS ?? 1000);
/** The client's deadline (connect-timeout-ms): it bounds every attempt of a call together. */
const DEADLINE_MS = 10_000;
const WARMUP_CALLS = 200;
const OUTAGE_MS = 1_500;
const MASTER_KEY = "sk-chaos-bench-master";

interface Shaping {
  name: string;
  /** Keys per vendor. */
  keys: number;
  /** Whether the model falls back to the second vendor. */
  fallback: boolean;
  traffic: Record<string, unknown>;
  /** The providers' `timeout_ms`: ATTEMPT_TIMEOUT_MS unless the row keeps the default (120 s). */
  defaultTimeout?: boolean;
  hedge?: boolean;
  /** Also measured during the primary's outage. */
  outage?: boolean;
}

const SHAPINGS: Shaping[] = [
  // Out of the box, as a first deployment runs: one vendor, one key, no fallback, no timeout set, every traffic default.
  { name: "defaults (1 key, no fallback, no timeout_ms)", keys: 1, fallback: false, traffic: {}, defaultTimeout: true },
  // The same before adaptive timeouts: a hang waits for the 120 s timeout, so the caller's 10 s deadline comes first.
  { name: "the same without adaptive timeouts", keys: 1, fallback: false, traffic: { adaptive_timeout: { enabled: false } }, defaultTimeout: true },
  { name: "no shaping", keys: 1, fallback: false, traffic: { retry: { max_attempts: 1 }, breaker: { enabled: false } }, outage: true },
  // One key and one candidate: every retry goes back to the same place.
  { name: "retries only", keys: 1, fallback: false, traffic: { retry: { max_attempts: 4 }, breaker: { enabled: false } }, outage: true },
  // The traffic defaults with 2 keys per vendor and a fallback: 4 attempts, 2 per candidate, retry budget 20% + 10, breakers on.
  { name: "retries + failover + breakers", keys: 2, fallback: true, traffic: {}, outage: true },
  { name: "retries + failover + breakers + hedging (p95)", keys: 2, fallback: true, traffic: {}, hedge: true },
];

const children: ChildProcess[] = [];

/** Starts a child process and resolves with the first stdout match of `pattern`. */
function startChild(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (!match) return;
      child.stdout!.off("data", onData);
      child.stdout!.resume(); // keep draining the gateway's log lines
      resolve({ child, match });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: process.env.NODE_OPTIONS });

async function vendorControl(origin: string, path: string): Promise<any> {
  const res = await request(`${origin}${path}`, { method: path === "/__stats" ? "GET" : "POST" });
  return res.body.json();
}

async function startGateway(shaping: Shaping, vendors: { primary: string; backup: string }): Promise<{ child: ChildProcess; origin: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sb-chaos-"));
  const keys = Array.from({ length: shaping.keys }, (_, i) => ({ id: `k${i + 1}`, secret: `env:CHAOS_KEY_${i + 1}` }));
  const provider = (origin: string) => ({
    dialect: "openai",
    base_url: `${origin}/v1`,
    keys,
    ...(shaping.defaultTimeout ? {} : { timeout_ms: ATTEMPT_TIMEOUT_MS }),
    ...(shaping.hedge ? { hedge: { percentile: 95 } } : {}),
  });
  const config = {
    log_level: "info",
    providers: { primary: provider(vendors.primary), backup: provider(vendors.backup) },
    routes: [{ model: "chaos-model", provider: "primary", ...(shaping.fallback ? { fallbacks: ["backup/chaos-model"] } : {}) }],
    traffic: shaping.traffic,
  };
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const { child, match } = await startChild(
    ["--import", "tsx", "src/main.ts", "serve"],
    {
      ...baseEnv(),
      SWITCHBOARD_CONFIG: file,
      SWITCHBOARD_DATA_DIR: join(dir, "data"),
      SWITCHBOARD_MASTER_KEY: MASTER_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      CHAOS_KEY_1: "sk-chaos-key-one",
      CHAOS_KEY_2: "sk-chaos-key-two",
    },
    /"port":(\d+)/,
  );
  return { child, origin: `http://127.0.0.1:${match[1]}` };
}

interface CallResult {
  ok: boolean;
  ms: number;
  code: string;
}

const BODY = JSON.stringify({ model: "chaos-model", messages: [{ role: "ROLE_USER", content: "Say hello." }] });
const HEADERS = {
  "content-type": "application/json",
  authorization: `Bearer ${MASTER_KEY}`,
  "connect-protocol-version": "1",
  "connect-timeout-ms": String(DEADLINE_MS),
};

async function call(pool: Pool): Promise<CallResult> {
  const started = performance.now();
  try {
    const res = await pool.request({ method: "POST", path: "/switchboard.v1.AIService/Chat", headers: HEADERS, body: BODY });
    const text = await res.body.text();
    const ok = res.statusCode === 200;
    return { ok, ms: performance.now() - started, code: ok ? "ok" : ((JSON.parse(text) as { code?: string }).code ?? String(res.statusCode)) };
  } catch (err) {
    return { ok: false, ms: performance.now() - started, code: (err as Error).name };
  }
}

/** `calls` calls, `CONCURRENCY` at a time; `onProgress` hears each completion count. */
async function load(pool: Pool, calls: number, onProgress?: (done: number) => void): Promise<CallResult[]> {
  const results: CallResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) {
        next++;
        results.push(await call(pool));
        onProgress?.(results.length);
      }
    }),
  );
  return results;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Row {
  name: string;
  success: number;
  p50: number;
  p99: number;
  amplification: number;
  failures: Record<string, number>;
  /** From the gateway's /metrics: retries, failovers, hedges, breaker openings, attempts cut (by the bound that cut them). */
  shaping: string;
}

/** Sums of the gateway's traffic-shaping counters (over warm-up and measurement). */
async function shapingCounts(origin: string): Promise<string> {
  const text = await (await request(`${origin}/metrics`)).body.text();
  const sum = (name: string, filter = "") =>
    text
      .split("\n")
      .filter((line) => line.startsWith(name) && line.includes(filter))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
  return [
    `${sum("switchboard_retries_total")} retries`,
    `${sum("switchboard_failovers_total")} failovers`,
    `${sum("switchboard_hedges_total")} hedges`,
    `${sum("switchboard_breaker_transitions_total", 'state="open"')} breaker openings`,
    `attempts cut ${["learnt", "deadline", "configured"].map((bound) => `${sum("switchboard_attempts_cut_total", `bound="${bound}"`)} ${bound}`).join(" / ")}`,
  ].join(", ");
}

async function measure(shaping: Shaping, vendors: { primary: string; backup: string }, outage: boolean): Promise<Row> {
  const gateway = await startGateway(shaping, vendors);
  const pool = new Pool(gateway.origin, { connections: CONCURRENCY });
  try {
    await load(pool, WARMUP_CALLS);
    await new Promise((resolve) => setTimeout(resolve, ATTEMPT_TIMEOUT_MS + 100)); // let warm-up hangs end
    await Promise.all([vendorControl(vendors.primary, "/__reset"), vendorControl(vendors.backup, "/__reset")]);
    let outageStarted = false;
    const results = await load(pool, CALLS, (done) => {
      if (outage && !outageStarted && done >= CALLS / 3) {
        outageStarted = true;
        void vendorControl(vendors.primary, `/__outage?ms=${OUTAGE_MS}`);
      }
    });
    const [primary, backup] = await Promise.all([vendorControl(vendors.primary, "/__stats"), vendorControl(vendors.backup, "/__stats")]);
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    const failures: Record<string, number> = {};
    for (const r of results) if (!r.ok) failures[r.code] = (failures[r.code] ?? 0) + 1;
    return {
      name: shaping.name,
      success: results.filter((r) => r.ok).length / results.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      amplification: (primary.requests + backup.requests) / results.length,
      failures,
      shaping: await shapingCounts(gateway.origin),
    };
  } finally {
    await pool.close();
    await stop(gateway.child);
  }
}

function table(rows: Row[]): void {
  console.log("| configuration | success | p50 | p99 | amplification | failed calls by code | gateway counters |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const failed = Object.entries(row.failures)
      .sort(([, a], [, b]) => b - a)
      .map(([code, n]) => `${code} ${n}`)
      .join(", ");
    console.log(
      `| ${row.name} | ${(row.success * 100).toFixed(2)}% | ${row.p50.toFixed(1)} ms | ${row.p99.toFixed(1)} ms | ${row.amplification.toFixed(3)}x | ${failed || "none"} | ${row.shaping} |`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const { match } = await startChild(["--import", "tsx", "bench/chaos/chaos-vendor.ts"], { ...baseEnv(), ...pick(process.env, /^CHAOS_/) }, /\{"ports":.*\}/);
  const { ports } = JSON.parse(match[0]) as { ports: { primary: number; backup: number } };
  const vendors = { primary: `http://127.0.0.1:${ports.primary}`, backup: `http://127.0.0.1:${ports.backup}` };

  console.log(
    `\nSwitchboard chaos benchmark: ${CALLS} unary Chat calls (Connect JSON) per configuration, ${CONCURRENCY} at a time, client deadline ${DEADLINE_MS / 1000} s.\n` +
      `Two fake vendors (primary, backup) each fail ${(FAILURE_RATE * 100).toFixed(0)}% of calls independently: 429, 500, 503, reset, hang, in equal shares.\n` +
      `The default rows set no timeout_ms (120 s); the others cut an attempt after ${ATTEMPT_TIMEOUT_MS} ms (timeout_ms). Amplification = upstream calls the vendors received / client calls.\n` +
      `Node ${process.version}, every process on this machine.\n`,
  );
  const steady: Row[] = [];
  for (const shaping of SHAPINGS) steady.push(await measure(shaping, vendors, false));
  console.log(`### ${(FAILURE_RATE * 100).toFixed(0)}% of vendor calls fail\n`);
  table(steady);

  const outage: Row[] = [];
  for (const shaping of SHAPINGS.filter((s) => s.outage)) outage.push(await measure(shaping, vendors, true));
  console.log(`\n### The same, and the primary vendor answers every call with 503 for ${OUTAGE_MS / 1000} s, a third into the run\n`);
  table(outage);
  console.log(`\nSeed's reference: 92% → 99.8% success with traffic shaping. Run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

function pick(env: NodeJS.ProcessEnv, pattern: RegExp): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => pattern.test(key)));
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(children.map(stop));
  });
