// `switchboard keys create --no-budget` under a configured keys.defaults.budget
// (audit finding): the CLI sent no budget, CreateKey filled in the default
// silently, and the key asked for without a budget had one. CreateKey cannot
// say "none", so the CLI removes the default from the new key; where that is
// refused, the key and its secret are still shown, and the failure says the key
// kept the default budget and how to remove it.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/admin-client.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

describe("keys create --no-budget under a configured default budget", () => {
  let gw: TestGateway;
  const keys = async (args: string[], adminKey = MASTER_KEY) => {
    const io: CliIo & { stdout: Capture; stderr: Capture } = { stdout: new Capture(), stderr: new Capture(), env: { SWITCHBOARD_ADMIN_KEY: adminKey, SWITCHBOARD_URL: gw.url } };
    const code = await keysCommand(args, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  beforeAll(async () => {
    gw = await startGateway({}, { keys: { defaults: { budget: 100 } } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("makes a key without a budget, while a key created without the flag gets the default", async () => {
    const defaulted = await keys(["create", "--name", "defaulted", "--id", "defaulted", "--json"]);
    expect(defaulted.code).toBe(0);
    expect(JSON.parse(defaulted.stdout).budget).toMatchObject({ limit: "100.00 USD" });

    const created = await keys(["create", "--name", "unbudgeted", "--id", "unbudgeted", "--no-budget", "--json"]);
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout);
    expect(json).toMatchObject({ id: "unbudgeted", budget: null });
    expect(json.secret).toMatch(/^sk-sb-/);
    const stored = await keys(["get", "unbudgeted", "--json"]);
    expect(JSON.parse(stored.stdout)[0]).toMatchObject({ id: "unbudgeted", budget: null });
  });

  it("when the budget cannot be removed, still shows the key and its secret, and says it kept the default budget", async () => {
    // A team's admin key with a budget may not make keys without one (beyond its own policy).
    const admin = await keys(["create", "--name", "team admin", "--id", "team-admin", "--team", "ops", "--admin", "--budget", "200", "--json"]);
    expect(admin.code).toBe(0);
    const refused = await keys(["create", "--name", "wanted unbudgeted", "--id", "kept-default", "--no-budget", "--json"], JSON.parse(admin.stdout).secret);
    expect(refused.code).toBe(1);
    const json = JSON.parse(refused.stdout);
    expect(json).toMatchObject({ id: "kept-default", budget: { limit: "100.00 USD" } });
    expect(json.secret).toMatch(/^sk-sb-/);
    expect(refused.stderr).toContain("switchboard: the key was created with the configured default budget, which could not be removed (PermissionDenied: ");
    expect(refused.stderr).toContain('remove it with "switchboard keys update kept-default --no-budget", or revoke the key');
  });
});
