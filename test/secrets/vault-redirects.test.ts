// A Vault answer that redirects is never followed (audit secrets F1): the
// redirect's target would get the Vault token (X-Vault-Token survives a
// cross-host redirect), an AppRole login's secret id and a Transit encrypt's
// plaintext data key, and its answer would be served as the vendor key. The
// redirect is Vault's failure instead, an outage: counted, worded without its
// Location, and the start refused naming the reference.
import { Registry } from "prom-client";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KekError } from "../../src/secrets/kek.js";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { VaultClient, type VaultAuth } from "../../src/secrets/vault-client.js";
import { VaultError } from "../../src/secrets/vault-error.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { rejection } from "../support/failure.js";
import { startGateway } from "../support/gateway.js";

const TOKEN = "hvs.redirect-test-token-0123456789";
const SECRET_ID = "secret-id-redirect-test-9f8e7d6c5b4a";
const ATTACKER_KEY = "sk-attacker-controlled-key-000000000000";
/** A credential in the Location: a redirect's target is never shown either. */
const LOCATION_SECRET = "leak-5f4e3d2c1b0a";
const NOT_FOLLOWED = "(a redirect, not followed: the gateway sends its Vault credentials to VAULT_ADDR only)";

/** Another host, standing in for one outside VAULT_ADDR: records what reaches it and answers as Vault would. */
let elsewhere: FakeServer;
/** VAULT_ADDR: looks the token up, and redirects every other request to `elsewhere` with `status`. */
let vault: FakeServer;
let status = 307;

beforeAll(async () => {
  elsewhere = await startFakeServer((req, res) => {
    if (req.path.startsWith("/v1/auth/approle/login")) return sendJson(res, 200, { auth: { client_token: "hvs.from-elsewhere", lease_duration: 3600, renewable: true } });
    if (req.path.startsWith("/v1/transit/")) return sendJson(res, 200, { data: { ciphertext: "vault:v1:AAAA" } });
    sendJson(res, 200, { data: { data: { api_key: ATTACKER_KEY }, metadata: { version: 1 } } });
  });
  vault = await startFakeServer((req, res) => {
    if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: 0, renewable: false } });
    res.writeHead(status, { location: `${elsewhere.origin}${req.path}?signature=${LOCATION_SECRET}` });
    res.end();
  });
});
afterAll(async () => {
  await vault?.close();
  await elsewhere?.close();
});

function client(auth: VaultAuth, metrics?: SecretMetrics): VaultClient {
  return new VaultClient({ address: vault.origin, auth, timeoutMs: 5_000, logger: pino({ level: "silent" }), metrics });
}

function expectNothingLeft(err: Error): void {
  expect(elsewhere.requests).toEqual([]);
  for (const secret of [TOKEN, SECRET_ID, LOCATION_SECRET, elsewhere.origin]) expect(err.message).not.toContain(secret);
}

describe("a Vault answering with a redirect", () => {
  it("is not followed by a KV read, whatever the redirect: the read fails as an outage, counted", async () => {
    const registry = new Registry();
    const metrics = new SecretMetrics(registry);
    const session = client({ method: "token", token: TOKEN }, metrics);
    try {
      for (const code of [301, 302, 303, 307, 308]) {
        status = code;
        const err = await rejection(session.readKv("secret", "switchboard/openai"));
        expect(err).toBeInstanceOf(VaultError);
        expect(err.message).toBe(`Vault read secret/switchboard/openai failed: HTTP ${code} ${NOT_FOLLOWED}`);
        expect((err as VaultError).unreachable).toBe(true);
        expect((err as VaultError).gone).toBe(false);
        expectNothingLeft(err);
      }
    } finally {
      session.close();
      status = 307;
    }
    expect(await registry.getSingleMetricAsString("switchboard_vault_requests_total")).toContain('switchboard_vault_requests_total{operation="read",result="error"} 5');
  });

  it("keeps an AppRole login's role id and secret id at VAULT_ADDR", async () => {
    const session = client({ method: "approle", roleId: "role-redirect-test", secretId: SECRET_ID, mount: "approle" });
    try {
      const err = await rejection(session.start());
      expect(err.message).toBe(`Vault AppRole login failed: HTTP 307 ${NOT_FOLLOWED}`);
      expectNothingLeft(err);
    } finally {
      session.close();
    }
  });

  it("keeps a Transit encrypt's plaintext data key at VAULT_ADDR: the KEK is unavailable, as in an outage", async () => {
    const session = client({ method: "token", token: TOKEN });
    const kek = new TransitKek(session, { address: vault.origin, mount: "transit", key: "switchboard", timeoutMs: 5_000 });
    try {
      const err = await rejection(kek.wrap(Buffer.alloc(32, 7)));
      expect(err).toBeInstanceOf(KekError);
      expect(err.message).toBe(`Vault transit encrypt with transit/switchboard failed: HTTP 307 ${NOT_FOLLOWED}`);
      expect((err as KekError).unreachable).toBe(true);
      expectNothingLeft(err);
    } finally {
      session.close();
    }
  });

  it("stops the gateway's start, naming the reference, rather than serving the redirect target's key", async () => {
    const err = await rejection(
      startGateway(
        { VAULT_ADDR: vault.origin, VAULT_TOKEN: TOKEN },
        { providers: { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ id: "primary", secret: "vault:secret/switchboard/openai#api_key", weight: 1 }] } } },
      ),
    );
    expect(err.message).toBe(`vault: vault:secret/switchboard/openai#api_key: Vault read secret/switchboard/openai failed: HTTP 307 ${NOT_FOLLOWED}`);
    expectNothingLeft(err);
  }, 30_000);
});
