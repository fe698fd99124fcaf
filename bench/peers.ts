// Peer gateways for `BENCH_PEERS=1`: Portkey's open-source gateway (npm) and
// LiteLLM's proxy (PyPI), each installed once on demand into a cache outside
// the project (never one of its dependencies), started pinned to the server
// core like Switchboard, and pointed at the same instant vendor. Each peer
// says which headers a Chat Completions call to it carries.
import { spawn, type SpawnOptions } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnPinned, type Started } from "./support/processes.js";
import { freePort } from "../test/support/services.js";

/** A started peer: where to call it and the headers its Chat Completions calls carry. */
export interface Peer {
  name: string;
  started: Started;
  origin: string;
  headers: Record<string, string>;
}

const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "switchboard", "peers");
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const START_TIMEOUT_MS = 120_000;

/**
 * Portkey's gateway 1.15.2, the newest on npm. Started as its package's
 * `start:node` script does (`node build/start-server.js`, which reads
 * `--port=N` and `--headless`, no console UI). A call names the provider and
 * the vendor's base URL in headers (x-portkey-provider, x-portkey-custom-host;
 * https://portkey.ai/docs/api-reference/inference-api/headers) and passes the
 * vendor key in Authorization; loopback hosts are in its default trusted list.
 * @hono/node-server is held at 1.14.2: with newer ones every call fails with
 * `TypeError: immutable` (Portkey-AI/gateway#1389). Streams fail that way on
 * Node whatever the version (Portkey-AI/gateway#1550), so its stream row shows
 * as failed.
 */
const PORTKEY = { version: "1.15.2", honoNodeServer: "1.14.2" };

/**
 * LiteLLM's proxy 1.106.12: the newest whose `[proxy]` extra resolves from the
 * package index here (1.108 and later pin litellm-proxy-extras post-releases it
 * does not have). Started as its docs say (`litellm --config <file> --host --port`,
 * https://docs.litellm.ai/docs/proxy/configs) with one model, gpt-4o-mini →
 * openai/gpt-4o-mini at the vendor; no database, and a fixed master key (it
 * refuses to start without one), which a call passes as its Bearer token.
 */
const LITELLM = { version: "1.106.12", masterKey: "sk-bench-3f9c2a7e51d84b06a9e2c4f7d1b8e6a05c3d9f2e7b1a4c8d" };

/** Starts each peer that installs and starts; one that does not is reported on stderr and left out. */
export async function startPeers(core: number, vendor: string): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (const start of [startPortkey, startLiteLLM]) {
    try {
      peers.push(await start(core, vendor));
    } catch (err) {
      process.stderr.write(`peer left out: ${(err as Error).message}\n`);
    }
  }
  return peers;
}

async function startPortkey(core: number, vendor: string): Promise<Peer> {
  const dir = join(CACHE, "portkey");
  await installOnce(dir, `portkey-${PORTKEY.version}`, async () => {
    // Its own package.json, so that the override applies and nothing reaches the project's.
    const manifest = { private: true, dependencies: { "@portkey-ai/gateway": PORTKEY.version }, overrides: { "@hono/node-server": PORTKEY.honoNodeServer } };
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
    await run("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
  });
  const port = await freePort();
  const started = startPeer(core, process.execPath, [join(dir, "node_modules/@portkey-ai/gateway/build/start-server.js"), `--port=${port}`, "--headless"], { dir, port });
  const origin = `http://127.0.0.1:${port}`;
  await answering(started, `${origin}/`, dir);
  return {
    name: `Portkey ${PORTKEY.version} (npm)`,
    started,
    origin,
    headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": `${vendor}/v1`, authorization: "Bearer sk-bench-upstream" },
  };
}

async function startLiteLLM(core: number, vendor: string): Promise<Peer> {
  const dir = join(CACHE, "litellm");
  await installOnce(dir, `litellm-${LITELLM.version}`, async () => {
    await run("python3", ["-m", "venv", join(dir, "venv")], { cwd: dir });
    await run(join(dir, "venv/bin/pip"), ["install", "-q", "--disable-pip-version-check", `litellm[proxy]==${LITELLM.version}`], { cwd: dir });
  });
  const config = join(mkdtempSync(join(tmpdir(), "sb-bench-litellm-")), "config.yaml");
  writeFileSync(
    config,
    [
      "model_list:",
      "  - model_name: gpt-4o-mini",
      `    litellm_params: { model: openai/gpt-4o-mini, api_base: "${vendor}/v1", api_key: sk-bench-upstream }`,
      "general_settings:",
      `  master_key: ${LITELLM.masterKey}`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  // Quiet: errors only (its uvicorn access log included), the bundled model price map rather than a fetch of GitHub's.
  const env: NodeJS.ProcessEnv = { LITELLM_LOG: "ERROR", LITELLM_LOCAL_MODEL_COST_MAP: "True" };
  const started = startPeer(core, join(dir, "venv/bin/litellm"), ["--config", config, "--host", "127.0.0.1", "--port", String(port), "--num_workers", "1"], { dir, port, env });
  const origin = `http://127.0.0.1:${port}`;
  await answering(started, `${origin}/health/liveliness`, dir);
  return { name: `LiteLLM ${LITELLM.version} (PyPI)`, started, origin, headers: { authorization: `Bearer ${LITELLM.masterKey}` } };
}

/** Runs `install` unless a marker says this version is already in `dir`; the marker is written only once it succeeds. */
async function installOnce(dir: string, marker: string, install: () => Promise<void>): Promise<void> {
  const done = join(dir, `.installed-${marker}`);
  if (existsSync(done)) return;
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`installing ${marker} into ${dir} (once)\n`);
  await install();
  writeFileSync(done, new Date().toISOString());
}

function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", 2, 2] }); // to stderr: stdout is the bench's table
    const timer = setTimeout(() => child.kill("SIGTERM"), INSTALL_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** A peer's output goes to `peer.log` in its cache directory, so that the bench's own stays readable. */
function startPeer(core: number, command: string, args: string[], { dir, port, env = {} }: { dir: string; port: number; env?: NodeJS.ProcessEnv }): Started {
  const log = openSync(join(dir, "peer.log"), "w");
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete merged.DATABASE_URL; // LiteLLM would use one; the peers run without a database
  const child = spawnPinned(core, command, args, { cwd: dir, env: merged, stdio: ["ignore", log, log] });
  return { child, port };
}

/** Waits until `url` answers at all, or fails if the peer exits or takes too long. */
async function answering(started: Started, url: string, dir: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`${url}: the peer exited with ${started.child.exitCode}; see ${join(dir, "peer.log")}`);
    const ok = await fetch(url).then(
      (res) => (res.body?.cancel(), true),
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  started.child.kill("SIGTERM");
  throw new Error(`${url}: no answer after ${START_TIMEOUT_MS / 1000} s; see ${join(dir, "peer.log")}`);
}
