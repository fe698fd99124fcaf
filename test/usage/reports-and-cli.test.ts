import { spawn } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { usageCommand } from "../../src/cli/usage-command.js";
import { MASTER_KEY } from "../support/gateway.js";
import { BACKENDS, startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

/** Runs a CLI command in process, as `switchboard …` would, against the test gateway. */
async function cli(command: typeof keysCommand, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await command(args, { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The real process: `node src/main.ts <args>`. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
      cwd: join(import.meta.dirname, "../.."),
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(BACKENDS)("usage reports and the operator CLI on %s", (backend) => {
  let world: UsageWorld;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    world = await startUsageWorld(backend);
    env = { SWITCHBOARD_URL: world.gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY };
  });
  afterAll(() => world.close());

  it("creates, lists, updates and revokes keys from the CLI, printing the key only on create", async () => {
    const created = await cli(
      keysCommand,
      ["create", "--name", "cli key", "--team", "ops", "--models", "gpt-4o*", "--rpm", "10", "--budget", "5", "--economy", "gpt-4o=gpt-4o-mini", "--expires", "30d", "--id", "cli-key", "--json"],
      env,
    );
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout);
    expect(json).toMatchObject({ id: "cli-key", team: "ops", allowedModels: ["gpt-4o*"], requestsPerMinute: 10, budget: { limit: "5.00 USD", period: "month" } });
    expect(json.secret).toMatch(/^sk-sb-/);
    expect((await world.gw.client("connect", json.secret).chat(hi("gpt-4o-mini"))).model).toBe("gpt-4o-mini");

    const table = await cli(keysCommand, ["create", "--name", "table key", "--team", "ops"], env);
    expect(table.stdout).toMatch(/^ID +NAME +TEAM +STATE/);
    expect(table.stdout).toMatch(/\nkey: sk-sb-[A-Za-z0-9_-]{43}\n$/);
    expect(table.stderr).toContain("only time the key is shown");

    const listed = await cli(keysCommand, ["list", "--team", "ops"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("cli-key");
    expect(listed.stdout).toContain("table key");
    expect(listed.stdout).not.toMatch(/sk-sb-[A-Za-z0-9_-]{10}/);

    const updated = await cli(keysCommand, ["update", "cli-key", "--rpm", "20", "--soft", "80%", "--json"], env);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)[0]).toMatchObject({ requestsPerMinute: 20, team: "ops", budget: { limit: "5.00 USD", softThreshold: 0.8 } });

    const got = await cli(keysCommand, ["get", "cli-key"], env);
    // A spend under a cent shows its digits, never "0.00".
    expect(got.stdout).toMatch(/spent 0\.0*[1-9]\d* USD of 5\.00 USD this period/);

    const revoked = await cli(keysCommand, ["revoke", "cli-key"], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("revoked");
    const err = await world.gw.client("connect", json.secret).chat(hi("gpt-4o-mini")).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);

    const missing = await cli(keysCommand, ["revoke", "no-such-key"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NotFound: key "keys/no-such-key" not found');
    const noKey = await cli(keysCommand, ["list"], { SWITCHBOARD_URL: world.gw.url });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("SWITCHBOARD_ADMIN_KEY");
  });

  it("reports requests, tokens, cost and errors grouped by provider, model, key, team or day", async () => {
    const alpha = await world.admin().createKey({ keyId: "report-alpha", key: { displayName: "alpha", team: "red", allowedModels: ["gpt-4o", "gpt-4o-mini"] } });
    const beta = await world.admin().createKey({ keyId: "report-beta", key: { displayName: "beta", team: "blue" } });
    await world.gw.client("connect", alpha.secret).chat(hi("gpt-4o"));
    await world.gw.client("connect", alpha.secret).chat(hi("gpt-4o-mini"));
    await world.gw.client("connect", alpha.secret).chat(hi("gpt-4.1")).catch(() => {}); // refused: not in scope
    await world.gw.client("connect", beta.secret).chat(hi("gpt-4o"));
    await world.gw.client("connect", beta.secret).embed({ model: "text-embedding-3-small", inputs: ["one two three"] });

    const start = timestampFromMs(Date.now() - 60_000);
    const byKey = await world.admin().getUsageReport({ startTime: start, groupBy: [UsageDimension.KEY], team: "red" });
    expect(byKey.rows.map((row) => [row.key, Number(row.requests), Number(row.errors)])).toEqual([["keys/report-alpha", 3, 1]]);

    const byModel = await world.admin().getUsageReport({ startTime: start, groupBy: [UsageDimension.TEAM, UsageDimension.MODEL], provider: "openai" });
    const rows = byModel.rows.map((row) => `${row.team}/${row.model}:${row.requests}:${row.promptTokens}:${row.completionTokens}:${row.cost?.units}`);
    // $1 per token for gpt-4o: 4 prompt + 2 completion tokens = $6; the most expensive rows come first.
    expect(rows.slice(0, 2).sort()).toEqual(["blue/gpt-4o:1:4:2:6", "red/gpt-4o:1:4:2:6"]);
    expect(rows).toContain("red/gpt-4o-mini:1:4:2:0");
    expect(rows).toContain("blue/text-embedding-3-small:1:3:0:0");

    const byDay = await world.admin().getUsageReport({ startTime: start, key: "keys/report-beta", groupBy: [UsageDimension.DAY] });
    expect(byDay.rows).toHaveLength(1);
    expect(Number(byDay.rows[0]!.day!.seconds) % 86_400).toBe(0);
    expect(Number(byDay.total?.requests)).toBe(2);

    const bad = await world.admin().getUsageReport({ key: "report-beta" }).catch((e: unknown) => ConnectError.from(e));
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("refuses times outside a Timestamp's years and filters the ledger's text cannot hold, on every store", async () => {
    const refused = (request: Parameters<ReturnType<UsageWorld["admin"]>["getUsageReport"]>[0]) =>
      world.admin().getUsageReport(request).then(() => undefined, (e: unknown) => ConnectError.from(e));
    const stats = (request: Parameters<ReturnType<UsageWorld["admin"]>["getUsageStats"]>[0]) =>
      world.admin().getUsageStats(request).then(() => undefined, (e: unknown) => ConnectError.from(e));
    for (const err of [
      await refused({ startTime: { seconds: -1_000_000_000_000_000_000n } }),
      await refused({ endTime: { seconds: 9_223_372_036_854_775_807n } }),
      await refused({ startTime: { seconds: 0n, nanos: 2_000_000_000 } }),
      await stats({ startTime: { seconds: -9_223_372_036_854_775_808n } }),
    ]) {
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toMatch(/(start|end)_time: must be a time from 0001-01-01 to 9999-12-31/);
    }
    for (const filter of [{ team: "red\u0000" }, { model: "gpt\u0000" }, { provider: "x".repeat(257) }]) {
      expect((await refused(filter))?.code, JSON.stringify(filter)).toBe(Code.InvalidArgument);
      expect((await stats(filter))?.code, JSON.stringify(filter)).toBe(Code.InvalidArgument);
    }
  });

  it("prints the usage table from `switchboard usage --since 7d --by provider`", async () => {
    const inProcess = await cli(usageCommand, ["--since", "7d", "--by", "provider,model"], env);
    expect(inProcess.code).toBe(0);
    expect(inProcess.stdout).toMatch(/PROVIDER +MODEL +REQUESTS +ERRORS +PROMPT_TOKENS +COMPLETION_TOKENS +COST_USD +DOWNGRADED/);
    expect(inProcess.stdout).toMatch(/\nopenai +gpt-4o +\d+/);
    expect(inProcess.stdout).toMatch(/\nTOTAL +/);

    // The real command line, once.
    const proc = await run(["usage", "--since", "7d", "--by", "provider"], env);
    expect(proc.stderr).toBe("");
    expect(proc.code).toBe(0);
    const lines = proc.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^usage from \d{4}-\d\d-\d\dT.* to \d{4}-/);
    expect(lines[2]).toMatch(/^PROVIDER +REQUESTS +ERRORS +PROMPT_TOKENS +COMPLETION_TOKENS +COST_USD +DOWNGRADED +CACHE_HITS +SAVED_USD$/);
    expect(proc.stdout).toMatch(/\nopenai +\d+ +\d+ +\d+ +\d+ +\d+\.\d{6} +\d+ +\d+ +\d+\.\d{6}\n/);
  });
});
