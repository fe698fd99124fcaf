import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sendJson, startFakeServer, type FakeServer } from "../../fakes/fake-server.js";
import { startOpenAIFake, type OpenAIFake } from "../../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../../support/gateway.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Where scripts/generate.sh and scripts/install-grpcurl.sh put the tools. */
export const TOOLS_BIN = join(ROOT, ".tools/bin");
export const VENV_PYTHON = join(ROOT, ".venv/bin/python");

/** A model the harness routes to a vendor that accepts requests and never answers. */
export const HANGING_MODEL = "hanging-model";
const UPSTREAM_KEY = "sk-upstream-for-client-tests";

/**
 * A live gateway for client programs in other languages: a fake OpenAI vendor
 * behind the usual models, plus a vendor that never answers behind
 * HANGING_MODEL (for deadline tests). `env` is what the programs read.
 */
export interface ClientHarness {
  gateway: TestGateway;
  vendor: OpenAIFake;
  hangingVendor: FakeServer;
  /** "127.0.0.1:<port>", a gRPC target. */
  addr: string;
  env: { SWITCHBOARD_ADDR: string; SWITCHBOARD_KEY: string; SWITCHBOARD_HANGING_MODEL: string };
  stop(): Promise<void>;
}

export async function startClientHarness(): Promise<ClientHarness> {
  const vendor = await startOpenAIFake({ apiKey: UPSTREAM_KEY });
  const hangingVendor = await startFakeServer((req, res) => {
    // Answer model discovery (ListModels would otherwise wait for it), hang on everything else.
    if (req.method === "GET" && req.path === "/v1/models") sendJson(res, 200, { object: "list", data: [] });
  });
  const gateway = await startGateway(
    { OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: vendor.baseUrl, HANGING_API_KEY: UPSTREAM_KEY },
    {
      providers: { hanging: { dialect: "openai", base_url: `${hangingVendor.origin}/v1`, api_key: "env:HANGING_API_KEY" } },
      routes: [{ model: HANGING_MODEL, provider: "hanging", upstream_model: "gpt-4o-mini" }],
    },
  );
  const addr = `127.0.0.1:${gateway.port}`;
  return {
    gateway,
    vendor,
    hangingVendor,
    addr,
    env: { SWITCHBOARD_ADDR: addr, SWITCHBOARD_KEY: MASTER_KEY, SWITCHBOARD_HANGING_MODEL: HANGING_MODEL },
    async stop() {
      await gateway.stop();
      await Promise.all([vendor.close(), hangingVendor.close()]);
    },
  };
}

/**
 * Fails (never skips) when a tool the client tests need is missing: CI installs
 * them, and a developer gets the command that does.
 */
export function requireTool(path: string, what: string, setup: string): string {
  if (!existsSync(path)) throw new Error(`${what} is missing (${path}). Run \`${setup}\` first.`);
  return path;
}

/** Finds a command on PATH, or fails with the setup hint. */
export function requireCommand(command: string, setup: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  throw new Error(`\`${command}\` is not on PATH. ${setup}`);
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  stdout: string;
}

/** Runs a program to completion, capturing its output; rejects only if it cannot start. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 240_000,
    });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code, signal) => resolvePromise({ code: signal ? null : code, output: signal ? `${output}\n[killed by ${signal}]` : output, stdout }));
  });
}
