// Added latency and throughput of Switchboard against a direct call and a bare
// proxy, measured side by side in one run. Usage: `npm run bench`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";

const ROOT = join(import.meta.dirname, "..");
const LATENCY_CALLS = Number(process.env.BENCH_LATENCY_CALLS ?? 2000);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const MASTER_KEY = "sk-bench-master";

const children: ChildProcess[] = [];

/** Starts a child process and waits for the port it prints on its first JSON line. */
function startChild(args: string[], env: NodeJS.ProcessEnv, portPattern = /"port":(\d+)/): Promise<number> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      if (seen === null) return;
      seen += chunk.toString();
      const match = portPattern.exec(seen);
      if (match) {
        resolve(Number(match[1]));
        seen = null as never;
        child.stdout!.resume();
      }
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
  });
}

interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const openAIBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] });
const connectBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "Say hello." }] });

async function call(pool: Pool, target: Target): Promise<void> {
  const res = await pool.request({ method: "POST", path: target.path, headers: target.headers, body: target.body });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${target.name}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(target: Target): Promise<{ p50: number; p99: number; rps: number }> {
  const pool = new Pool(target.origin, { connections: CONCURRENCY });
  for (let i = 0; i < 200; i++) await call(pool, target); // warm up JIT and sockets
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const started = performance.now();
    await call(pool, target);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  let done = 0;
  const until = performance.now() + THROUGHPUT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await call(pool, target);
        done++;
      }
    }),
  );
  await pool.close();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: done / THROUGHPUT_SECONDS };
}

async function main(): Promise<void> {
  const vendorPort = await startChild(["--import", "tsx", "bench/instant-vendor.ts"], {});
  const vendor = `http://127.0.0.1:${vendorPort}`;
  const proxyPort = await startChild(["--import", "tsx", "bench/bare-proxy.ts"], { UPSTREAM: vendor });
  const gatewayPort = await startChild(["--enable-source-maps", "dist/src/main.js", "serve"], {
    PORT: "0",
    HOST: "127.0.0.1",
    SWITCHBOARD_MASTER_KEY: MASTER_KEY,
    OPENAI_API_KEY: "sk-bench-upstream",
    OPENAI_BASE_URL: `${vendor}/v1`,
    SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-bench-")),
  });
  const json = { "content-type": "application/json" };
  const auth = { ...json, authorization: `Bearer ${MASTER_KEY}` };
  const targets: Target[] = [
    { name: "direct to vendor", origin: vendor, path: "/v1/chat/completions", headers: { ...json, authorization: "Bearer sk-bench-upstream" }, body: openAIBody },
    { name: "bare undici proxy", origin: `http://127.0.0.1:${proxyPort}`, path: "/v1/chat/completions", headers: json, body: openAIBody },
    { name: "switchboard, OpenAI REST", origin: `http://127.0.0.1:${gatewayPort}`, path: "/v1/chat/completions", headers: auth, body: openAIBody },
    { name: "switchboard, Connect JSON", origin: `http://127.0.0.1:${gatewayPort}`, path: "/switchboard.v1.AIService/Chat", headers: auth, body: connectBody },
  ];

  const results = [];
  for (const target of targets) results.push({ target, ...(await measure(target)) });
  const [direct, proxy] = results;
  const ms = (n: number) => `${n.toFixed(3)} ms`;
  console.log(`\nSwitchboard benchmark: ${LATENCY_CALLS} sequential calls for latency, ${CONCURRENCY} concurrent for ${THROUGHPUT_SECONDS}s for throughput; every process on this machine (${process.version}).\n`);
  console.log("| path | p50 (c=1) | p99 (c=1) | added p50 vs direct | throughput | vs direct | vs bare proxy |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.target.name} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p50 - direct!.p50)} | ${Math.round(r.rps)} req/s | ${(r.rps / direct!.rps).toFixed(2)}x | ${(r.rps / proxy!.rps).toFixed(2)}x |`,
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill("SIGTERM");
  });
