// A Vault (or a proxy in front of it) answering a token lookup without a
// numeric ttl, or an AppRole login without lease_duration, made the renewal's
// delay NaN, which Node's timers take as 1 ms: the gateway renewed (or logged
// in) in a tight loop. Such a token is taken as one that never expires, as a
// lease of 0 says, and a warning says once that the lease was unreadable.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { VaultClient, type VaultAuth } from "../../src/secrets/vault-client.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { LogCapture } from "../support/gateway.js";

const TOKEN = "hvs.unreadable-lease-0123456789";
const DAY_MS = 24 * 3_600_000;

let vault: FakeServer;

beforeAll(async () => {
  vault = await startFakeServer((req, res) => {
    if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { renewable: true } });
    if (req.path === "/v1/auth/approle/login") return sendJson(res, 200, { auth: { client_token: TOKEN, lease_duration: "soon", renewable: true } });
    if (req.path === "/v1/auth/token/renew-self") return sendJson(res, 200, { auth: { client_token: TOKEN, renewable: true } });
    sendJson(res, 200, { data: { data: { api_key: "sk-unreadable-lease-000000000000" }, metadata: { version: 1 } } });
  });
});
afterAll(async () => {
  await vault?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const authRequests = () => vault.requests.filter((req) => req.path.startsWith("/v1/auth/")).length;

/** Waits for what a fired timer sent: a KV read's whole round trip, after it. */
const settle = (client: VaultClient) => client.readKv("secret", "switchboard/openai");

describe.each<[string, VaultAuth]>([
  ["a VAULT_TOKEN whose lookup has no ttl", { method: "token", token: TOKEN }],
  ["an AppRole login whose lease_duration is not a number", { method: "approle", roleId: "role-unreadable", secretId: "secret-unreadable", mount: "approle" }],
])("%s", (_name, auth) => {
  it("is not renewed in a loop: kept as a token that never expires, with one warning that names no token", async () => {
    vault.requests.length = 0;
    // Only the client's timers are the test's to drive; the HTTP requests run for real on loopback.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const logs = new LogCapture();
    const client = new VaultClient({ address: vault.origin, auth, timeoutMs: 5_000, logger: createLogger("info", logs) });
    try {
      await client.start();
      expect(authRequests()).toBe(1);
      for (let i = 0; i < 5; i++) {
        vi.advanceTimersByTime(1_000);
        await settle(client);
      }
      vi.advanceTimersByTime(30 * DAY_MS);
      await settle(client);
      expect(authRequests()).toBe(1);

      const warnings = logs.entries.filter((entry) => /readable token lease/.test(String(entry.msg)));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.level).toBe("warn");
      expect(logs.text).not.toContain(TOKEN);
    } finally {
      client.close();
    }
  });
});
