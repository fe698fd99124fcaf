import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli-process.js";
import { spawnGateway } from "../support/gateway-process.js";
import { tempDir } from "../support/stores.js";

// A first start without SWITCHBOARD_MASTER_KEY generates one. A start that fails (a bad setting, a port already taken)
// must not keep a key it never handed over: the next, good start has to give the user a master key that works.

const NOTICE = "No SWITCHBOARD_MASTER_KEY was set, so one was generated";

function baseEnv(dataDir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", SWITCHBOARD_DATA_DIR: dataDir };
}

/** Starts the gateway on `dataDir` as a user would after fixing the mistake: the master key it hands over (stderr is a pipe, so in the file) works. */
async function goodStartHandsOverAWorkingKey(dataDir: string): Promise<void> {
  const gateway = spawnGateway(baseEnv(dataDir));
  try {
    const base = await gateway.listening();
    const keyFile = join(dataDir, "master-key.generated");
    expect(gateway.output()).toContain(`${NOTICE}. It is not printed, since stderr is not a terminal: it is in ${keyFile}`);
    const key = readFileSync(keyFile, "utf8").trim();
    const res = await fetch(`${base}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(gateway.output()).not.toContain(key);
  } finally {
    gateway.child.kill("SIGTERM");
    await gateway.exited;
  }
}

/** What a failed first start must leave: no key announced, nothing saved that a later start would take for a key already shown. */
function expectNothingKept(dataDir: string, output: string): void {
  expect(output).not.toContain(NOTICE);
  expect(output).not.toContain("sk-sb-");
  expect(existsSync(join(dataDir, "master-key.digest"))).toBe(false);
  expect(existsSync(join(dataDir, "master-key.generated"))).toBe(false);
}

// Two starts of the real process each: a cold `tsx` start on a busy machine takes seconds.
const TWO_STARTS_MS = 90_000;

describe("a first start that fails keeps no master key it did not hand over", () => {
  it("a SWITCHBOARD_METRICS_TOKEN too short", async () => {
    const dataDir = tempDir("sb-first-start-");
    const failed = await runCli(["serve"], { ...baseEnv(dataDir), SWITCHBOARD_METRICS_TOKEN: "short" });
    expect(failed.code, failed.stderr).toBe(78);
    expect(failed.stderr).toContain("SWITCHBOARD_METRICS_TOKEN");
    expectNothingKept(dataDir, failed.stdout + failed.stderr);
    await goodStartHandsOverAWorkingKey(dataDir);
  }, TWO_STARTS_MS);

  it("a default economy model that is not cheaper", async () => {
    const dataDir = tempDir("sb-first-start-");
    const config = join(tempDir("sb-first-start-config-"), "bad.yaml");
    writeFileSync(config, "keys:\n  defaults:\n    economy_models: { gpt-4o-mini: gpt-4o }\n");
    // A vendor key puts the models on a route, priced: the start never calls the vendor, since the check stops it first.
    const failed = await runCli(["serve"], { ...baseEnv(dataDir), SWITCHBOARD_CONFIG: config, OPENAI_API_KEY: "sk-never-sent" });
    expect(failed.code, failed.stderr).toBe(78);
    expect(failed.stderr).toContain("is not cheaper");
    expectNothingKept(dataDir, failed.stdout + failed.stderr);
    await goodStartHandsOverAWorkingKey(dataDir);
  }, TWO_STARTS_MS);

  it("a port already taken: no key is announced above the error", async () => {
    const dataDir = tempDir("sb-first-start-");
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const failed = await runCli(["serve"], { ...baseEnv(dataDir), PORT: String(port) });
      expect(failed.code, failed.stderr).toBe(1);
      expect(failed.stderr).toContain("EADDRINUSE");
      expectNothingKept(dataDir, failed.stdout + failed.stderr);
    } finally {
      holder.close();
    }
    await goodStartHandsOverAWorkingKey(dataDir);
  }, TWO_STARTS_MS);
});
