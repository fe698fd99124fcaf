// secrets.vault.timeout_ms bounds a whole Vault request, to its answer's last
// byte (audit secrets F4). Before, it timed out silence only: a Vault (or a
// proxy) sending its headers and then a byte every so often held the start
// for good, and froze the poll while /healthz said "ok". The Vault here
// answers its token lookup at once and trickles the answers it is told to,
// a space of JSON every 50 ms, for as long as the client listens.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServerResponse } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KekError } from "../../src/secrets/kek.js";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { VaultError } from "../../src/secrets/vault-error.js";
import { sendJson, sleep, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { runCli } from "../support/cli-process.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { eventually } from "./support/bao.js";

const TOKEN = "hvs.deadline-test-token-0123456789";
const VENDOR_KEY = `sk-deadline-${Math.random().toString(36).slice(2)}`;
const REF = "vault:secret/switchboard/openai#api_key";
const PROVIDERS = { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ id: "primary", secret: REF, weight: 1 }] } };
const TIMED_OUT = "Vault read secret/switchboard/openai failed: Vault unreachable: timed out";
/** Far past every timeout_ms below: only a request the deadline never ends is still waiting then. */
const NEVER = 20_000;

let vault: FakeServer;
/** Whether KV reads trickle (else they answer at once). */
let trickling = true;

/** The headers and the start of a JSON answer, then a space every 50 ms until the client goes away. */
function trickle(res: ServerResponse): Promise<void> {
  res.writeHead(200, { "content-type": "application/json" });
  res.write('{"data":');
  return new Promise((resolve) => {
    const timer = setInterval(() => res.write(" "), 50);
    res.once("close", () => {
      clearInterval(timer);
      resolve();
    });
  });
}

/** What `promise` came to, or "still waiting" if it had not settled by NEVER. */
function outcome(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([promise.then((value) => ({ value }), (err: unknown) => err), sleep(NEVER).then(() => "still waiting")]);
}

beforeAll(async () => {
  vault = await startFakeServer((req, res) => {
    if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: 0, renewable: false } });
    if (req.path.startsWith("/v1/transit/")) return trickle(res);
    if (req.path.startsWith("/v1/secret/data/")) {
      if (trickling) return trickle(res);
      return sendJson(res, 200, { data: { data: { api_key: VENDOR_KEY }, metadata: { version: 1 } } });
    }
    sendJson(res, 404, { errors: [] });
  });
});
afterAll(async () => {
  await vault?.close();
});

describe("a Vault trickling its answer", () => {
  it("fails a KV read when timeout_ms has passed, as an outage, and closes the connection", async () => {
    trickling = true;
    const client = new VaultClient({ address: vault.origin, auth: { method: "token", token: TOKEN }, timeoutMs: 300, logger: pino({ level: "silent" }) });
    const err = await outcome(client.readKv("secret", "switchboard/openai"));
    client.close();
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).message).toBe(TIMED_OUT);
    expect((err as VaultError).unreachable).toBe(true);
    await eventually(() => expect(vault.abandoned.some((req) => req.path.startsWith("/v1/secret/data/"))).toBe(true));
  }, 30_000);

  it("fails a Transit call when timeout_ms has passed, as an outage", async () => {
    const client = new VaultClient({ address: vault.origin, auth: { method: "token", token: TOKEN }, timeoutMs: 5_000, logger: pino({ level: "silent" }) });
    const kek = new TransitKek(client, { address: vault.origin, mount: "transit", key: "switchboard", timeoutMs: 300 });
    const err = await outcome(kek.wrap(Buffer.alloc(32)));
    client.close();
    expect(err).toBeInstanceOf(KekError);
    expect((err as KekError).message).toBe("Vault transit encrypt with transit/switchboard failed: Vault unreachable: timed out");
    expect((err as KekError).unreachable).toBe(true);
  }, 30_000);

  it("stops the start with exit 78, naming the reference", async () => {
    trickling = true;
    const dir = tempDir("sb-vault-deadline-");
    const config = join(dir, "switchboard.yaml");
    writeFileSync(config, JSON.stringify({ providers: PROVIDERS, secrets: { vault: { timeout_ms: 1_000 } } }));
    const env = { PATH: process.env.PATH ?? "", SWITCHBOARD_DATA_DIR: dir, SWITCHBOARD_CONFIG: config, SWITCHBOARD_MASTER_KEY: MASTER_KEY, VAULT_ADDR: vault.origin, VAULT_TOKEN: TOKEN };
    // A start still waiting on Vault is killed (code null) well after the deadline has passed.
    const started = await runCli(["serve"], env, { timeoutMs: 60_000 });
    expect(started.code, started.stderr).toBe(78);
    expect(started.stderr).toContain(`${REF}: ${TIMED_OUT}`);
    expect(started.stdout + started.stderr).not.toContain(TOKEN);
  }, 90_000);

  describe("once the gateway runs", () => {
    let gw: TestGateway;
    beforeAll(async () => {
      trickling = false;
      gw = await startGateway({ VAULT_ADDR: vault.origin, VAULT_TOKEN: TOKEN }, { providers: PROVIDERS, secrets: { vault: { refresh_ms: 200, timeout_ms: 500 } } });
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it("counts each trickled poll as a failed read: the source is down, health degraded, the last key kept", async () => {
      trickling = true;
      await eventually(async () => {
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        expect(metrics).toContain('switchboard_secret_source_up{source="vault"} 0');
        expect(metrics).toMatch(/switchboard_vault_requests_total\{operation="read",result="error"\} [1-9]/);
      }, NEVER);
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
      expect(health).toMatchObject({ status: "degraded", dependencies: { vault: "degraded: serving the last known secrets (unreachable)" } });
      expect(gw.logs.text).toContain(TIMED_OUT);
      expect(gw.logs.text).not.toContain(VENDOR_KEY);
      expect(gw.logs.text).not.toContain(TOKEN);
    }, 30_000);
  });
});
