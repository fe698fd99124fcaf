// A Vault token whose lease is longer than setTimeout's limit (2^31 - 1 ms,
// about 24.8 days; renewed at two thirds of the lease, so any lease over about
// 37 days: a token created with `-ttl=1000h` where the token mount's
// max_lease_ttl was raised). Node fires such a timer after 1 ms, so the
// gateway renewed the token in a tight loop, hundreds of requests a second to
// Vault for as long as it ran. The renewal waits the longest delay a timer
// takes instead, and renews early, once.
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { VaultClient, type VaultAuth } from "../../src/secrets/vault-client.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";

const DAY_MS = 24 * 3_600_000;
/** 1000 hours, as `bao token create -ttl=1000h` gives. */
const LEASE_SECONDS = 1000 * 3600;

let vault: FakeServer;

beforeAll(async () => {
  vault = await startFakeServer((req, res) => {
    if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: LEASE_SECONDS, creation_ttl: LEASE_SECONDS, renewable: true } });
    if (req.path === "/v1/auth/approle/login") return sendJson(res, 200, { auth: { client_token: "hvs.long-lease-approle", lease_duration: LEASE_SECONDS, renewable: true } });
    if (req.path === "/v1/auth/token/renew-self") return sendJson(res, 200, { auth: { client_token: "hvs.long-lease", lease_duration: LEASE_SECONDS, renewable: true } });
    sendJson(res, 200, { data: { data: { api_key: "sk-long-lease-0000000000000000" }, metadata: { version: 1 } } });
  });
});
afterAll(async () => {
  await vault?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const renewals = () => vault.requests.filter((req) => req.path === "/v1/auth/token/renew-self").length;

/** Waits for what a fired timer sent: a KV read's whole round trip, after it. */
const settle = (client: VaultClient) => client.readKv("secret", "switchboard/openai");

describe.each<[string, VaultAuth]>([
  ["a VAULT_TOKEN", { method: "token", token: "hvs.long-lease" }],
  ["an AppRole login", { method: "approle", roleId: "role-long-lease", secretId: "secret-long-lease", mount: "approle" }],
])("%s with a lease longer than a timer can wait", (_name, auth) => {
  it("is not renewed in a loop: once, before the longest timer delay passes", async () => {
    vault.requests.length = 0;
    // Only the renewal's timer is the test's to drive; the HTTP requests run for real on loopback.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = new VaultClient({ address: vault.origin, auth, timeoutMs: 5_000, logger: pino({ level: "silent" }) });
    try {
      await client.start();
      vi.advanceTimersByTime(DAY_MS);
      await settle(client);
      expect(renewals()).toBe(0);

      // Past setTimeout's limit (24.8 days), well before two thirds of the lease (27.8 days): one early renewal.
      vi.advanceTimersByTime(24 * DAY_MS);
      await settle(client);
      expect(renewals()).toBe(1);
      vi.advanceTimersByTime(DAY_MS);
      await settle(client);
      expect(renewals()).toBe(1);
    } finally {
      client.close();
    }
  });
});
