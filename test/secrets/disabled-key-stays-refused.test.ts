// A key an operator disabled as leaked stays refused by its secret, whatever
// becomes of the key: once its replacement is promoted it retires, and the
// leaked value written back at the source (`bao kv rollback`, a restored AWS
// label, an old `db:` value) is still never staged, never sent to the vendor;
// nor after a restart, nor on another instance sharing the store. Only StageKey
// brings it back. Against the real OpenBao, and on the pools themselves with a
// source the test drives, on SQLite and Postgres.
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { parseSecretRef, type ProviderConfig, type SecretRef } from "../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../src/config/secrets-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { DisabledSecrets } from "../../src/secrets/disabled-secrets.js";
import { KeyVersionMemory } from "../../src/secrets/key-version-memory.js";
import { ProviderPools } from "../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import type { SecretGone } from "../../src/secrets/secret-gone.js";
import { SecretResolver, type SecretSource, type SecretVersion } from "../../src/secrets/secret-source.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { LogCapture, MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { openMigratedDatabase, tempDir, type StoreKind } from "../support/stores.js";
import { adminClient, calls, credentials, requestsByKey } from "./support/admin.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";

const secrets: string[] = [MASTER_KEY];
const vendorKey = (label: string) => {
  const value = `sk-${label}-${randomBytes(12).toString("hex")}`;
  secrets.push(value);
  return value;
};
const REFUSED = "this version holds a disabled key's secret (DisableKey, or deleted at its source; here or on another instance, before or after a restart): not staged; only StageKey brings it back";

describe("a leaked key written back to Vault after its replacement was promoted", () => {
  const mount = unique("sb-leaked");
  const path = "switchboard/openai";
  const ref = `vault:${mount}/${path}#api_key`;
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;
  const LEAKED = vendorKey("leaked");
  const NEXT = vendorKey("next");
  const dataDir = tempDir("sb-leaked-");
  let bao: BaoAdmin;
  let token: string;
  let fake: OpenAIFake;
  let gw: TestGateway;
  const start = () =>
    startGateway(
      { VAULT_ADDR: bao.addr, VAULT_TOKEN: token, SWITCHBOARD_DATA_DIR: dataDir },
      {
        providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_000, keys: [{ id: "primary", secret: ref, weight: 1 }] } },
        secrets: { vault: { refresh_ms: 200 } },
        key_pool: { promote_after: 3 },
      },
    );

  beforeAll(async () => {
    ({ bao, token } = await baoMountWithReadToken(mount));
    secrets.push(bao.rootToken, token);
    await bao.put(mount, path, { api_key: LEAKED });
    // The vendor still takes the leaked key: only the gateway can keep it from being used.
    fake = await startOpenAIFake({ apiKey: LEAKED, extraKeys: [NEXT] });
    gw = await start();
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  const byName = async () => (await credentials(adminClient(gw), "openai")).byName;
  const refusals = () => gw.logs.entries.filter((e) => e.msg === REFUSED);

  it("disables the leaked key, stages the next version in its place and retires it on promotion", async () => {
    await adminClient(gw).disableKey({ name: name(1), reason: "leaked" });
    await bao.put(mount, path, { api_key: NEXT });
    await eventually(async () => expect((await byName()).get(name(2))?.state).toBe(CredentialState.STANDBY), 5_000);
    expect((await calls(gw, 3)).failed).toEqual([]);
    expect((await byName()).get(name(2))?.state).toBe(CredentialState.ACTIVE);
    expect((await byName()).get(name(1))?.state).toBe(CredentialState.RETIRED);
  });

  it("never stages the leaked value written back as a new version, never sends it, and says so in a log line and a metric", async () => {
    const from = fake.requests.length;
    expect(await bao.put(mount, path, { api_key: LEAKED })).toBe(3); // what `bao kv rollback -version=1` writes
    const line = await eventually(() => {
      expect(refusals()).toHaveLength(1);
      return refusals()[0]!;
    }, 5_000);
    expect(line).toMatchObject({ level: "warn", provider: "openai", slot: "primary", version: 3, source: ref, disabledAs: "openai/primary@v1", disabledReason: 'disabled by "master": leaked' });
    expect(line.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect((await calls(gw, 40)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([NEXT]);
    expect((await byName()).has(name(3))).toBe(false);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/^switchboard_disabled_key_refusals_total\{provider="openai"\} 1$/m);
  });

  it("refuses it again after a restart, which resumes the last good version", async () => {
    await gw.stop();
    gw = await start();
    const from = fake.requests.length;
    expect(refusals()).toHaveLength(1);
    expect((await calls(gw, 40)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([NEXT]);
    expect([...(await byName()).keys()]).toEqual([name(2)]);
    for (const secret of secrets) expect(gw.logs.text).not.toContain(secret);
  });
});

/** A versioned source the test writes to: `write` adds a version and tells the watchers, `delete` says the latest is gone. */
class DrivenSource implements SecretSource {
  readonly scheme = "db" as const;
  readonly versions: string[] = [];
  private readonly watchers: ((secret: SecretVersion) => void)[] = [];
  private readonly goneWatchers: ((gone: SecretGone) => void)[] = [];

  write(value: string): number {
    this.versions.push(value);
    for (const watcher of this.watchers) watcher(this.latest());
    return this.versions.length;
  }
  delete(): void {
    const version = this.versions.length;
    for (const watcher of this.goneWatchers) watcher({ version, reason: `version ${version} was deleted at the source` });
  }
  async resolve(): Promise<string> {
    return this.latest().value;
  }
  async read(): Promise<SecretVersion> {
    return this.latest();
  }
  async readVersion(_ref: SecretRef, version: number): Promise<SecretVersion> {
    return { value: this.versions[version - 1]!, version };
  }
  watch(_ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void): () => void {
    this.watchers.push(onChange);
    if (onGone) this.goneWatchers.push(onGone);
    return () => this.watchers.splice(this.watchers.indexOf(onChange), 1);
  }
  private latest(): SecretVersion {
    return { value: this.versions.at(-1)!, version: this.versions.length };
  }
}

describe.each<StoreKind>(["sqlite", "postgres"])("the keys operators disabled, kept in the %s store", (kind) => {
  const provider = (name: string) => ({ name, keys: [{ id: "primary", secret: parseSecretRef("db:openai"), weight: 1 }], timeoutMs: 1_000 }) as unknown as ProviderConfig;
  let db: SqlDatabase;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  /** An instance's pools on the shared store, reading `source` for one provider. */
  async function instance(source: DrivenSource, name = "openai") {
    const logs = new LogCapture();
    const registry = new Registry();
    const pools = await ProviderPools.create([provider(name)], {
      resolver: new SecretResolver([source]),
      logger: createLogger("info", logs),
      metrics: new SecretMetrics(registry),
      rules: DEFAULT_KEY_POOL,
      memory: new KeyVersionMemory(db, createLogger("silent")),
      disabled: new DisabledSecrets(db),
    });
    const state = (id: string) => pools.pool(name)!.get(id)?.state;
    const refused = async () => (await registry.getSingleMetric("switchboard_disabled_key_refusals_total")!.get()).values.find((v) => v.labels.provider === name)?.value ?? 0;
    return { pools, logs, state, refused };
  }

  it("refuses the secret once its key retired, disables it at a restart and on another instance, and lets StageKey bring it back", async () => {
    const LEAKED = vendorKey("db-leaked");
    const source = new DrivenSource();
    source.write(LEAKED);
    const a = await instance(source);
    const b = await instance(source);
    try {
      expect(await a.pools.disable("openai", "openai/primary@v1", 'disabled by "master": leaked')).toMatchObject({ stored: true, view: { state: "disabled" } });

      // Another instance that missed the news finds it in the store (its poll, or its Redis subscription back).
      expect(b.state("openai/primary@v1")).toBe("active");
      await b.pools.syncDisabled();
      expect(b.pools.pool("openai")!.get("openai/primary@v1")).toMatchObject({ state: "disabled", reason: 'disabled by "master": leaked' });
      expect(b.logs.entries.filter((e) => e.msg === "this key's secret was disabled (DisableKey, or deleted at its source) as another key, on another instance or before a restart: it is disabled here too")).toHaveLength(1);
      await b.pools.syncDisabled();
      expect(b.logs.entries.filter((e) => e.msg.startsWith("this key's secret was disabled"))).toHaveLength(1);

      // The replacement is promoted; the leaked key retires.
      source.write(vendorKey("db-next"));
      await eventually(() => expect(a.state("openai/primary@v2")).toBe("standby"));
      a.pools.pool("openai")!.promote("openai/primary@v2");
      expect(a.state("openai/primary@v1")).toBe("retired");

      // The leaked value back as version 3: refused on both instances, counted.
      source.write(LEAKED);
      await eventually(async () => expect(await a.refused()).toBe(1));
      await eventually(async () => expect(await b.refused()).toBe(1));
      expect(a.state("openai/primary@v3")).toBeUndefined();
      expect(b.state("openai/primary@v3")).toBeUndefined();
      expect(a.logs.entries.find((e) => e.msg === REFUSED)).toMatchObject({ version: 3, disabledAs: "openai/primary@v1" });

      // A restart on version 3 (the fleet never judged it): the last good version serves, 3 is not staged.
      a.pools.close();
      const restarted = await instance(source);
      expect(restarted.pools.pool("openai")!.list().map((key) => [key.id, key.state])).toEqual([["openai/primary@v2", "active"]]);
      expect(await restarted.refused()).toBe(1);
      restarted.pools.close();

      // A store that never saw v2 promoted starts on the leaked version itself: it starts disabled.
      await db.run("DELETE FROM gateway_settings WHERE name LIKE 'key_version:%'");
      const fresh = await instance(source);
      expect(fresh.pools.pool("openai")!.get("openai/primary@v3")).toMatchObject({ state: "disabled", reason: 'disabled by "master": leaked' });
      expect(() => fresh.pools.pool("openai")!.pick()).toThrow(/no usable key/);

      // StageKey is the one way back: the refusal is lifted for every instance.
      await fresh.pools.stage("openai", { credentialId: "back", secretRef: "db:openai" });
      expect(fresh.state("openai/back@v3")).toBe("standby");
      expect(fresh.logs.entries.some((e) => e.msg === "an operator staged a key disabled earlier: its secret is no longer refused")).toBe(true);
      expect(await db.query("SELECT name FROM gateway_settings WHERE name LIKE 'disabled_secret:%'")).toEqual([]);
      fresh.pools.close();
      for (const secret of secrets) expect(a.logs.text + b.logs.text + fresh.logs.text + restarted.logs.text).not.toContain(secret);
    } finally {
      a.pools.close();
      b.pools.close();
    }
  });

  it("refuses a secret deleted at its source the same way, once its key retired", async () => {
    const GONE = vendorKey("db-gone");
    const source = new DrivenSource();
    source.write(GONE);
    const a = await instance(source, "deleted");
    try {
      source.delete();
      expect(a.pools.pool("deleted")!.get("deleted/primary@v1")).toMatchObject({ state: "disabled", reason: "secret deleted at its source: version 1 was deleted at the source" });
      source.write(vendorKey("db-after"));
      await eventually(() => expect(a.state("deleted/primary@v2")).toBe("standby"));
      a.pools.pool("deleted")!.promote("deleted/primary@v2");
      expect(a.state("deleted/primary@v1")).toBe("retired");
      source.write(GONE);
      await eventually(async () => expect(await a.refused()).toBe(1));
      expect(a.state("deleted/primary@v3")).toBeUndefined();
    } finally {
      a.pools.close();
    }
  });
});
