// A restart never puts a rolled-back Vault version in service. When the last
// good version cannot be read because of an outage, the start is refused
// (exit 78, naming the reference); when Vault answers that it was deleted, the
// key starts without it (the latest was rolled back) or on the latest never
// judged, as a first start does; a provider none of whose keys has a version
// serves the key a recorded rotation promoted in their place. Real OpenBao,
// behind a loopback proxy that fails the reads by number; verdicts and
// rotations in a SQLite store.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { KeyVersionMemory } from "../../src/secrets/key-version-memory.js";
import { migrate } from "../../src/store/migrations.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { spawnGateway } from "../support/gateway-process.js";
import { openMigratedDatabase, tempDir } from "../support/stores.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";
import { DEFAULT_BACKEND_404, vaultFaultProxy, type Fault, type VaultFaultProxy } from "./support/vault-fault-proxy.js";
import { vaultPools, withVaultPools } from "./support/vault-pools.js";

const mount = unique("sb-restart-good");
let bao: BaoAdmin;
let token: string;
let proxy: VaultFaultProxy;
const stores: SqlDatabase[] = [];

beforeAll(async () => {
  ({ bao, token } = await baoMountWithReadToken(mount));
  proxy = await vaultFaultProxy(bao.addr);
});
afterAll(async () => {
  await proxy?.close();
  for (const db of stores) await db.close();
});

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;
const onVersionReads = (fault: Fault): Fault => (path) => (path.includes("version=") ? fault(path) : undefined);
const SERVICE_UNAVAILABLE: Fault = () => ({ status: 503, contentType: "application/json", body: '{"errors":["injected 503"]}' });

/**
 * A secret whose v1 is the good version and v2 the latest: rolled back (`rollback`) or left on trial,
 * judged by pools that read it, then stopped. Returns the reference and the store holding the verdicts.
 */
async function judged({ rollback, spare }: { rollback: boolean; spare?: string }) {
  const path = `switchboard/${unique("openai")}`;
  const ref = `vault:${mount}/${path}#api_key`;
  await bao.put(mount, path, { api_key: vendorKey("v1") });
  const { db } = await openMigratedDatabase("sqlite");
  stores.push(db);
  await withVaultPools({ addr: bao.addr, token, ref, db, spare }, async (first) => {
    await bao.put(mount, path, { api_key: vendorKey("v2") });
    await first.poll();
    await eventually(() => expect(first.states()).toMatchObject({ 1: "active", 2: "standby" }));
    if (rollback) await first.pools.rollback("openai", "openai/primary@v2", "rejected by the vendor");
  });
  return { path, ref, db };
}

describe("a restart after the latest Vault version was rolled back", () => {
  it.each<[string, Fault]>([
    ["an HTTP 503", SERVICE_UNAVAILABLE],
    ["a proxy's 404 page", DEFAULT_BACKEND_404],
  ])("is refused when the last good version cannot be read (%s), rather than serving the rolled-back latest", async (_label, fault) => {
    const { ref, db } = await judged({ rollback: true });
    proxy.fault(onVersionReads(fault));
    try {
      const refused = await vaultPools({ addr: proxy.addr, token, ref, db }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toMatch(
        new RegExp(`^vault: ${escape(ref)}: cannot read version 1, the last one judged good, to start on \\(.+\\); version 2, the latest, was rolled back, so it is not served instead$`),
      );
    } finally {
      proxy.fault(undefined);
    }
    await withVaultPools({ addr: proxy.addr, token, ref, db }, (restarted) => expect(restarted.states()).toEqual({ 1: "active" }));
  });

  it("starts the key without a version when Vault deleted the last good one, and stages the next version written", async () => {
    const SPARE = vendorKey("spare");
    const { path, ref, db } = await judged({ rollback: true, spare: SPARE });
    await bao.request("POST", `${mount}/delete/${path}`, { versions: [1] });
    await withVaultPools({ addr: bao.addr, token, ref, db, spare: SPARE }, async (restarted) => {
      expect(restarted.states()).toEqual({ spare: "active" });
      const line = restarted.logs.entries.find((e) => e.level === "error" && e.slot === "primary");
      expect(line).toMatchObject({
        msg: expect.stringMatching(/^the key's last good version is gone at its source and the latest was rolled back: the key starts without one/),
        source: ref,
        good: 1,
        latest: 2,
        reason: `version 1 of ${mount}/${path} was deleted in Vault`,
      });
      // The slot is watched: a new version is staged as usual, the rolled-back one never.
      await bao.put(mount, path, { api_key: vendorKey("v3") });
      await restarted.poll();
      await eventually(() => expect(restarted.states()).toEqual({ spare: "active", 3: "standby" }));
    });
  });

  it("is refused, naming the key and why, when that leaves the provider no key", async () => {
    const { path, ref, db } = await judged({ rollback: true });
    await bao.request("PUT", `${mount}/destroy/${path}`, { versions: [1] });
    const refused = await vaultPools({ addr: bao.addr, token, ref, db }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toBe(
      `config: providers.openai.keys: no key to start on: "primary" (${ref}): version 1 of ${mount}/${path} was destroyed in Vault, and version 2, the latest, was rolled back; ` +
        "write a new version of the key at its source, which is served as a first start serves the latest",
    );
    // Which is so: the next start serves it.
    await bao.put(mount, path, { api_key: vendorKey("v3") });
    await withVaultPools({ addr: bao.addr, token, ref, db }, (restarted) => expect(restarted.states()).toEqual({ 3: "active" }));
  });

  it("starts on the key a recorded rotation promoted in its place, and serves it", async () => {
    const NEXT = vendorKey("next");
    const env = { OPENAI_API_KEY_NEXT: NEXT };
    const { path, ref, db } = await rotatedAway(env);
    await bao.request("PUT", `${mount}/destroy/${path}`, { versions: [1] });
    await withVaultPools({ addr: bao.addr, token, ref, db, env }, (restarted) => {
      expect(restarted.states()).toEqual({ next: "active" });
      expect(restarted.pool().pick().id).toBe("openai/next");
      expect(restarted.logs.text).not.toContain(NEXT);
    });
  });

  it("is refused, naming the key and the rotation and why, when the rotation cannot be re-applied either", async () => {
    const { path, ref, db } = await rotatedAway({ OPENAI_API_KEY_NEXT: vendorKey("next") });
    await bao.request("PUT", `${mount}/destroy/${path}`, { versions: [1] });
    const refused = await vaultPools({ addr: bao.addr, token, ref, db }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toBe(
      `store: key_rotation:openai: provider "openai" has no key: the keys its recorded rotations retired stay retired, and the rotations cannot be re-applied ` +
        `("next" (env:OPENAI_API_KEY_NEXT): cannot read the secret: environment: OPENAI_API_KEY_NEXT: is not set (referenced as "env:OPENAI_API_KEY_NEXT")); ` +
        `and no configured key has a version to start on ("primary" (${ref}): version 1 of ${mount}/${path} was destroyed in Vault, and version 2, the latest, was rolled back); ` +
        "make the references readable again, write a new version of the key at its source, which is served as a first start serves the latest, or add a key under a new id to providers.openai.keys",
    );
  });
});

/** `judged` with its v2 rolled back, then StageKey and PromoteKey of `env:OPENAI_API_KEY_NEXT` (in `env`) replacing v1, on a second instance. */
async function rotatedAway(env: Record<string, string>) {
  const judgedKey = await judged({ rollback: true });
  await withVaultPools({ addr: bao.addr, token, ref: judgedKey.ref, db: judgedKey.db, env }, async (rotating) => {
    await rotating.pools.stage("openai", { credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", replaces: "openai/primary@v1" });
    await rotating.pools.promote("openai", "openai/next", "promoted by the test");
    expect(rotating.states()).toMatchObject({ next: "active", 1: expect.stringMatching(/^(draining|retired)$/) });
  });
  return judgedKey;
}

describe("a restart while the latest Vault version is on trial", () => {
  it("starts on the latest, as a first start, when Vault deleted the last good version", async () => {
    const { path, ref, db } = await judged({ rollback: false });
    await bao.request("POST", `${mount}/delete/${path}`, { versions: [1] });
    await withVaultPools({ addr: bao.addr, token, ref, db }, (restarted) => {
      expect(restarted.states()).toEqual({ 2: "active" });
      expect(restarted.logs.entries.some((e) => e.msg === "the key's last good version is gone at its source: starting on the latest, never judged, as a first start does")).toBe(true);
    });
  });
});

describe("the gateway process", () => {
  it("exits 78 when the last good version cannot be read, naming the reference", async () => {
    const path = `switchboard/${unique("openai")}`;
    const ref = `vault:${mount}/${path}#api_key`;
    await bao.put(mount, path, { api_key: vendorKey("v1") });
    await bao.put(mount, path, { api_key: vendorKey("v2") });
    const dataDir = tempDir("sb-restart-good-");
    const store = new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      await migrate(store);
      const memory = new KeyVersionMemory(store, createLogger("silent"));
      // As written before verdicts named values: they hold for any value at that number.
      await memory.promoted("openai/primary", { version: 1, fingerprint: undefined });
      await memory.rejected("openai/primary", { version: 2, fingerprint: undefined });
    } finally {
      await store.close();
    }
    const configFile = join(dataDir, "switchboard.yaml");
    writeFileSync(configFile, `providers:\n  openai:\n    base_url: http://127.0.0.1:9/v1\n    keys:\n      - id: primary\n        secret: ${ref}\n`);
    proxy.fault(onVersionReads(SERVICE_UNAVAILABLE));
    try {
      const gateway = spawnGateway({
        SWITCHBOARD_MASTER_KEY: "sk-test-master-key-exit-78-0123456789",
        SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_CONFIG: configFile,
        VAULT_ADDR: proxy.addr,
        VAULT_TOKEN: token,
      });
      const code = await gateway.exited;
      const output = gateway.output();
      expect(code, output).toBe(78);
      expect(output.split("\n").filter((line) => line.startsWith("switchboard: "))).toEqual([
        `switchboard: configuration error: vault: ${ref}: cannot read version 1, the last one judged good, to start on ` +
          `(Vault read ${mount}/${path} version 1 failed: HTTP 503 (injected 503)); version 2, the latest, was rolled back, so it is not served instead`,
      ]);
    } finally {
      proxy.fault(undefined);
    }
  }, 90_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
