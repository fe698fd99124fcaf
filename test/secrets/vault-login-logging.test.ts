// A Vault login that keeps failing (a destroyed AppRole secret-id) is logged
// at its first failure, then as a reminder at most every 5 minutes, and once
// at its recovery: not on every poll and every retry (audit L10). Vault is a
// loopback fake answering the AppRole login; the clock is the test's.
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { LogCapture } from "../support/gateway.js";

const SECRET_ID = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5";
let vault: FakeServer | undefined;
let client: VaultClient | undefined;
afterEach(async () => {
  client?.close();
  await vault?.close();
});

describe("a Vault login that keeps failing", () => {
  it("is logged once, reminded every 5 minutes, and logged once more when it works again", async () => {
    let accept = false;
    vault = await startFakeServer((req, res) => {
      if (req.path !== "/v1/auth/approle/login") return sendJson(res, 404, { errors: [] });
      if (!accept) return sendJson(res, 400, { errors: ["invalid role or secret ID"] });
      sendJson(res, 200, { auth: { client_token: "hvs.fake-token-0123456789", lease_duration: 0, renewable: false } });
    });
    const logs = new LogCapture();
    let now = 1_000_000;
    client = new VaultClient({
      address: vault.origin,
      auth: { method: "approle", roleId: "role-0123", secretId: SECRET_ID, mount: "approle" },
      timeoutMs: 2_000,
      logger: createLogger("info", logs),
      now: () => now,
    });
    const lines = () => logs.entries.filter((e) => e.component === "vault").map((e) => e.msg as string);

    // A poll every 2 s for 4 minutes: each tries a login.
    for (let i = 0; i < 120; i++, now += 2_000) await client.start().catch(() => undefined);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(/^Vault login failed; serving the last known secrets/);

    now += 60_000; // five minutes since the first failure
    await client.start().catch(() => undefined);
    expect(lines()).toHaveLength(2);
    const reminder = logs.entries.filter((e) => e.component === "vault").at(-1)!;
    expect(reminder).toMatchObject({ msg: "Vault login still fails", level: "error" });
    expect(reminder.failures).toBeGreaterThan(100);

    accept = true;
    await client.start();
    expect(lines().slice(2)).toEqual(["logged in to Vault with AppRole", "Vault login works again"]);
    expect(logs.text).not.toContain(SECRET_ID);
    expect(logs.text).not.toContain("hvs.fake-token");
  });
});
