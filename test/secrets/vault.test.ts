// Vault auth, renewal, reads and error scrubbing against the real OpenBao dev
// server the global setup starts (same HTTP API as HashiCorp Vault).
import { beforeAll, describe, expect, it } from "vitest";
import { parseSecretRef } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { VaultClient, type VaultAuth } from "../../src/secrets/vault-client.js";
import { VaultError } from "../../src/secrets/vault-error.js";
import { VaultSecretSource } from "../../src/secrets/vault-secret-source.js";
import { LogCapture, startGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { BaoAdmin, eventually, unique } from "./support/bao.js";

let bao: BaoAdmin;
const mount = unique("sb-vault");
const approle = unique("approle");
const policy = unique("switchboard-read");
/** Every secret a test hands out: none may appear in a log line or an error. */
const secrets: string[] = [];

beforeAll(async () => {
  bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
  secrets.push(bao.rootToken);
  await bao.enableKv(mount);
  await bao.readPolicy(policy, mount, "switchboard");
  await bao.enableAppRole(approle);
});

function harness(auth: VaultAuth, options: { refreshMs?: number; address?: string; namespace?: string; renewFraction?: number } = {}) {
  const logs = new LogCapture();
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const secretMetrics = new SecretMetrics(metrics.registry);
  const logger = createLogger("debug", logs);
  const degraded: (string | undefined)[] = [];
  const client = new VaultClient({
    address: options.address ?? bao.addr,
    namespace: options.namespace,
    auth,
    timeoutMs: 2_000,
    logger,
    metrics: secretMetrics,
    reportDegraded: (_component, problem) => degraded.push(problem),
    renewFraction: options.renewFraction,
  });
  const source = new VaultSecretSource(client, { refreshMs: options.refreshMs ?? 60_000, logger, metrics: secretMetrics, reportDegraded: (_c, problem) => degraded.push(problem) });
  const count = async (operation: string, result = "ok") => {
    const text = await metrics.registry.getSingleMetricAsString("switchboard_vault_requests_total");
    const line = text.split("\n").find((l) => l.includes(`operation="${operation}"`) && l.includes(`result="${result}"`));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  return { client, source, logs, count, degraded };
}

function expectNoSecretIn(...texts: string[]): void {
  const all = texts.join("\n");
  for (const secret of secrets) expect(all).not.toContain(secret);
}

describe("token auth", () => {
  it("reads vault:MOUNT/PATH#FIELD with its version, using a token limited to read", async () => {
    const version = await bao.put(mount, "switchboard/openai", { api_key: "sk-vault-token-auth-1", org: "org-1" });
    const token = await bao.token({ policies: [policy], ttl: "1h" });
    secrets.push(token, "sk-vault-token-auth-1");
    const { source, logs } = harness({ method: "token", token });
    expect(await source.read(parseSecretRef(`vault:${mount}/switchboard/openai#api_key`))).toEqual({ value: "sk-vault-token-auth-1", version });
    expect(await source.resolve(parseSecretRef(`vault:${mount}/switchboard/openai#org`))).toBe("org-1");
    await source.close();
    expectNoSecretIn(logs.text);
  });

  it("renews the token before its lease ends", async () => {
    // OpenBao counts the lease on its own clock: the slack below is for a busy machine, where a renewal can run seconds late.
    const token = await bao.token({ policies: [policy], ttl: "8s", renewable: true });
    secrets.push(token);
    await bao.put(mount, "switchboard/renew", { api_key: "sk-renewed" });
    // Renewals at a quarter of the lease (2 s, 4 s, 6 s, 8 s): each can be nearly 6 s late and still come in time.
    const { client, source, count, logs } = harness({ method: "token", token }, { renewFraction: 0.25 });
    await client.start();
    // Past the token's original 8 s: only renewals keep it alive.
    await new Promise((resolve) => setTimeout(resolve, 9_000));
    expect(await bao.ttlOf(token)).toBeGreaterThan(0);
    expect(await count("renew")).toBeGreaterThanOrEqual(2);
    expect(await source.resolve(parseSecretRef(`vault:${mount}/switchboard/renew#api_key`))).toBe("sk-renewed");
    await source.close();
    expectNoSecretIn(logs.text);
  }, 30_000);
});

describe("AppRole auth", () => {
  it("logs in with the role id and secret id, and reads", async () => {
    const creds = await bao.appRole(approle, "gateway", { token_policies: [policy], token_ttl: "1h" });
    secrets.push(creds.roleId, creds.secretId);
    await bao.put(mount, "switchboard/anthropic", { api_key: "sk-ant-approle" });
    secrets.push("sk-ant-approle");
    const { source, logs, count } = harness({ method: "approle", mount: approle, ...creds });
    expect(await source.resolve(parseSecretRef(`vault:${mount}/switchboard/anthropic#api_key`))).toBe("sk-ant-approle");
    expect(await count("login")).toBe(1);
    expect(logs.entries.some((e) => e.msg === "logged in to Vault with AppRole")).toBe(true);
    await source.close();
    expectNoSecretIn(logs.text);
  });

  it("logs in again when the token reaches its max TTL", async () => {
    const creds = await bao.appRole(approle, "short", { token_policies: [policy], token_ttl: "3s", token_max_ttl: "5s" });
    secrets.push(creds.roleId, creds.secretId);
    await bao.put(mount, "switchboard/short", { api_key: "sk-short" });
    // Renewals at half the lease: at 1.5 s, then at 3 s Vault caps the lease at the max TTL, and the client logs in again at 4 s.
    const { client, source, count, logs } = harness({ method: "approle", mount: approle, ...creds }, { renewFraction: 0.5 });
    await client.start();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await count("login")).toBeGreaterThanOrEqual(2);
    expect(await source.resolve(parseSecretRef(`vault:${mount}/switchboard/short#api_key`))).toBe("sk-short");
    expect(logs.entries.some((e) => e.msg.includes("max TTL"))).toBe(true);
    await source.close();
    expectNoSecretIn(logs.text);
  }, 20_000);
});

describe("a Vault namespace", () => {
  it("reads secrets inside VAULT_NAMESPACE", async () => {
    const namespace = unique("team");
    await bao.request("POST", `sys/namespaces/${namespace}`, {});
    await bao.request("POST", `sys/mounts/kv`, { type: "kv", options: { version: "2" } }, bao.rootToken, namespace);
    await bao.request("POST", "kv/data/switchboard/openai", { data: { api_key: "sk-in-namespace" } }, bao.rootToken, namespace);
    const { source } = harness({ method: "token", token: bao.rootToken }, { namespace });
    expect(await source.resolve(parseSecretRef("vault:kv/switchboard/openai#api_key"))).toBe("sk-in-namespace");
    await source.close();
  });
});

describe("caching and versions", () => {
  it("serves reads from memory within the TTL and hands each new version to the watchers", async () => {
    const token = await bao.token({ policies: [policy], ttl: "1h" });
    secrets.push(token);
    const v1 = await bao.put(mount, "switchboard/rotating", { api_key: "sk-rot-1" });
    const ref = parseSecretRef(`vault:${mount}/switchboard/rotating#api_key`);
    const cached = harness({ method: "token", token });
    expect(await cached.source.read(ref)).toEqual({ value: "sk-rot-1", version: v1 });
    await cached.source.read(ref);
    await cached.source.read(ref);
    expect(await cached.count("read")).toBe(1);
    await cached.source.close();

    const { source } = harness({ method: "token", token }, { refreshMs: 200 });
    expect(await source.read(ref)).toEqual({ value: "sk-rot-1", version: v1 });
    const seen: { value: string; version?: number }[] = [];
    source.watch(ref, (secret) => seen.push(secret));
    const v2 = await bao.put(mount, "switchboard/rotating", { api_key: "sk-rot-2" });
    await eventually(() => expect(seen).toEqual([{ value: "sk-rot-2", version: v2 }]));
    await source.close();
  });

  it("says which fields a secret has (never their values) when the field is missing", async () => {
    await bao.put(mount, "switchboard/fields", { key: "sk-field-value" });
    const { source } = harness({ method: "token", token: bao.rootToken });
    const err = await source.resolve(parseSecretRef(`vault:${mount}/switchboard/fields#api_key`)).catch((e: Error) => e);
    expect((err as Error).message).toBe(`vault: vault:${mount}/switchboard/fields#api_key: version 1 of ${mount}/switchboard/fields has no non-empty string field "api_key" (fields: key)`);
    const bad = await source.resolve(parseSecretRef("vault:no-field-here")).catch((e: Error) => e);
    expect((bad as Error).message).toContain('must look like "vault:MOUNT/PATH#FIELD"');
    await source.close();
  });
});

describe("errors are scrubbed", () => {
  it("a bad token, a bad secret id and an unreachable Vault give errors without any of them", async () => {
    const badToken = "s.this-token-is-not-valid-0123";
    const badSecretId = "9f8e7d6c-bad0-secret-id-000000000000";
    const roleId = (await bao.appRole(approle, "scrub", { token_policies: [policy] })).roleId;
    secrets.push(badToken, badSecretId, roleId);

    const errors: unknown[] = [];
    const token = harness({ method: "token", token: badToken });
    errors.push(await token.client.start().catch((e: unknown) => e));
    errors.push(await token.source.resolve(parseSecretRef(`vault:${mount}/switchboard/openai#api_key`)).catch((e: unknown) => e));
    const role = harness({ method: "approle", mount: approle, roleId, secretId: badSecretId });
    errors.push(await role.client.start().catch((e: unknown) => e));
    const away = harness({ method: "token", token: badToken }, { address: "http://127.0.0.1:9" });
    errors.push(await away.client.start().catch((e: unknown) => e));

    expect((errors[0] as VaultError).message).toBe("Vault token lookup failed: HTTP 403 (permission denied)");
    expect((errors[2] as VaultError).message).toBe("Vault AppRole login failed: HTTP 400 (invalid role or secret ID)");
    expect((errors[3] as VaultError).message).toBe("Vault token lookup failed: Vault unreachable: connection refused");
    for (const err of errors) {
      expect(err).toBeInstanceOf(Error);
      expect((err as { config?: unknown }).config).toBeUndefined();
      expect((err as { cause?: unknown }).cause).toBeUndefined();
      expectNoSecretIn(String(err), JSON.stringify(err), (err as Error).stack ?? "");
    }
    expectNoSecretIn(token.logs.text, role.logs.text, away.logs.text);
    for (const h of [token, role, away]) await h.source.close();
  });
});

describe("start-up", () => {
  const providers = (ref: string) => ({ providers: { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ id: "primary", secret: ref, weight: 1 }] } } });

  it("refuses to start when a referenced secret cannot be read, naming the reference and never the token", async () => {
    const token = "s.start-up-token-never-shown-42";
    const err = await startGateway({ VAULT_ADDR: "http://127.0.0.1:9", VAULT_TOKEN: token }, providers(`vault:${mount}/switchboard/openai#api_key`)).catch((e: Error) => e);
    expect((err as Error).message).toBe(`vault: vault:${mount}/switchboard/openai#api_key: Vault token lookup failed: Vault unreachable: connection refused`);
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(token);
  });

  it("asks for VAULT_ADDR when keys refer to Vault without it", async () => {
    const err = await startGateway({}, providers("vault:secret/switchboard/openai#api_key")).catch((e: Error) => e);
    expect((err as Error).message).toBe('environment: VAULT_ADDR: is not set, but keys refer to "vault:" secrets');
  });
});
