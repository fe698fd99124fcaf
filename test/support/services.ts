// Real Postgres, Redis, OpenBao (Vault), moto (AWS) and Jaeger servers for the
// tests that concern them, each started on a free loopback port in a temporary directory.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface RunningService {
  env: Record<string, string>;
  stop(): Promise<void>;
}

const SETUP_HINT = "run `bash scripts/install-test-deps.sh` (what .ci/run does) to install it";

/**
 * Ports this process has handed out. The kernel may offer a closed port
 * again before its taker has bound it (a dozen ports for a Redis Cluster
 * collide about once in a hundred runs), so none is handed out twice.
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unboundPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function unboundPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function which(command: string, fallbacks: string[] = []): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
  return found || fallbacks.find((path) => existsSync(path));
}

async function waitFor(what: string, child: ChildProcess, ready: () => boolean | Promise<boolean>, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${log()}`);
    if (await Promise.resolve().then(ready).catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms:\n${log()}`);
}

function start(command: string, args: string[], options: { uid?: number; gid?: number; cwd?: string; env?: Record<string, string> } = {}) {
  const env = options.env && { ...process.env, ...options.env };
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], uid: options.uid, gid: options.gid, cwd: options.cwd, env });
  let output = "";
  child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-8000)));
  child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-8000)));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    });
  return { child, log: () => output, stop };
}

/** A redis-server on `port` (a test that must know it before Redis runs: clients started while it is down), or a free one. */
export async function startRedis(port?: number): Promise<RunningService> {
  const binary = which("redis-server");
  if (!binary) throw new Error(`redis-server is not installed; ${SETUP_HINT}`);
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sb-redis-"));
  const redis = start(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]);
  await waitFor("redis-server", redis.child, () => redis.log().includes("Ready to accept connections"), redis.log);
  return {
    env: { SWITCHBOARD_TEST_REDIS_URL: `redis://127.0.0.1:${port}` },
    async stop() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPostgres(): Promise<RunningService> {
  const bin = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"].find((dir) => existsSync(join(dir, "postgres")));
  if (!bin) throw new Error(`PostgreSQL is not installed; ${SETUP_HINT}`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sb-pg-"));
  // Postgres refuses to run as root: run it as the `postgres` user when we are root.
  const owner = process.getuid?.() === 0 ? userIds("postgres") : undefined;
  if (owner) spawnSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
  chmodSync(dir, 0o700);
  const init = spawnSync(join(bin, "initdb"), ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"], {
    encoding: "utf8",
    uid: owner?.uid,
    gid: owner?.gid,
    cwd: dir,
  });
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr}`);
  const pg = start(
    join(bin, "postgres"),
    ["-D", join(dir, "data"), "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
    { uid: owner?.uid, gid: owner?.gid, cwd: dir },
  );
  await waitFor("postgres", pg.child, () => pg.log().includes("ready to accept connections"), pg.log);
  return {
    env: { SWITCHBOARD_TEST_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` },
    async stop() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const result = spawnSync("id", ["-u", name], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startOpenBao(): Promise<RunningService> {
  const cached = spawnSync("bash", [join(import.meta.dirname, "../../scripts/openbao.sh"), "--cached-only"], { encoding: "utf8" });
  const binary = cached.status === 0 ? cached.stdout.trim() : which("bao");
  if (!binary) throw new Error(`the OpenBao server (bao) is not built; ${SETUP_HINT}`);
  const port = await freePort();
  const token = `root-${randomBytes(12).toString("hex")}`;
  const bao = start(binary, ["server", "-dev", `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`]);
  const addr = `http://127.0.0.1:${port}`;
  await waitFor("openbao", bao.child, async () => (await fetch(`${addr}/v1/sys/health`)).status === 200, bao.log);
  return {
    env: { SWITCHBOARD_TEST_VAULT_ADDR: addr, SWITCHBOARD_TEST_VAULT_TOKEN: token },
    stop: bao.stop,
  };
}

/**
 * moto in server mode: the AWS APIs (Secrets Manager, KMS) on loopback, from
 * the project's .venv. `env` reaches the server: a private one started with
 * `INITIAL_NO_AUTH_ACTION_COUNT: "0"` checks every request's credentials.
 */
export async function startMoto(options: { env?: Record<string, string> } = {}): Promise<RunningService> {
  const binary = join(import.meta.dirname, "../../.venv/bin/moto_server");
  if (!existsSync(binary)) throw new Error(`moto (moto_server) is not installed in .venv; ${SETUP_HINT}`);
  const port = await freePort();
  const moto = start(binary, ["-H", "127.0.0.1", "-p", String(port)], { env: options.env });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor("moto_server", moto.child, async () => (await fetch(`${endpoint}/moto-api/`)).ok, moto.log);
  return { env: { SWITCHBOARD_TEST_AWS_ENDPOINT: endpoint }, stop: moto.stop };
}

/**
 * Jaeger v2 (built once by scripts/jaeger.sh): an OTLP/HTTP receiver and the
 * query API on free loopback ports, traces kept in memory. The trace tests
 * export the gateway's spans to it and read them back.
 */
export async function startJaeger(): Promise<RunningService> {
  const cached = spawnSync("bash", [join(import.meta.dirname, "../../scripts/jaeger.sh"), "--cached-only"], { encoding: "utf8" });
  if (cached.status !== 0) throw new Error(`the Jaeger binary is not built; ${SETUP_HINT}`);
  const [otlp, query, queryGrpc, health] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "sb-jaeger-"));
  const config = join(dir, "jaeger.yaml");
  writeFileSync(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter] }
  telemetry:
    metrics: { level: none }
    logs: { level: warn }
extensions:
  jaeger_storage:
    backends:
      memstore: { memory: { max_traces: 100000 } }
  jaeger_query:
    storage: { traces: memstore }
    http: { endpoint: "127.0.0.1:${query}" }
    grpc: { endpoint: "127.0.0.1:${queryGrpc}" }
  healthcheckv2:
    use_v2: true
    http: { endpoint: "127.0.0.1:${health}" }
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${otlp}" }
processors:
  batch: { timeout: 100ms }
exporters:
  jaeger_storage_exporter: { trace_storage: memstore }
`,
  );
  const jaeger = start(cached.stdout.trim(), ["--config", `file:${config}`], { cwd: dir });
  const queryUrl = `http://127.0.0.1:${query}`;
  await waitFor("jaeger", jaeger.child, async () => (await fetch(`${queryUrl}/api/services`)).ok, jaeger.log);
  return {
    env: { SWITCHBOARD_TEST_JAEGER_OTLP: `http://127.0.0.1:${otlp}`, SWITCHBOARD_TEST_JAEGER_QUERY: queryUrl },
    async stop() {
      await jaeger.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
