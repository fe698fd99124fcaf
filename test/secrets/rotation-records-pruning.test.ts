// The store keeps only the rotation records a restart needs: a rolled-back key's
// record is deleted, a promotion takes over the record of the key it replaced
// (so the key that one had replaced stays retired), and records written by
// earlier versions (which never deleted any) are pruned when read. A recorded
// promotion that cannot be re-applied at start keeps the keys it retired out of
// service: one warning naming its reference, `key_rotations` degraded in health,
// and a start refused when no key is left. On the pools themselves, with
// environment references, on SQLite and Postgres.
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HealthState } from "../../src/common/health-state.js";
import { ConfigError } from "../../src/config/config-error.js";
import { parseSecretRef, type ProviderConfig } from "../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../src/config/secrets-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { KeyRotationRecords, type RotationRecord } from "../../src/secrets/key-rotation-records.js";
import { ProviderPools, UNRESTORED_ROTATION } from "../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { EnvSecretSource, SecretResolver } from "../../src/secrets/secret-source.js";
import { UNRESTORED_ROTATIONS } from "../../src/secrets/unrestored-rotations.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { LogCapture } from "../support/gateway.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const PREFIX = "key_rotation:";
const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;
/** The environment variable an id's key is read from ("k3" → OPENAI_API_KEY_K3). */
const variable = (id: string) => `OPENAI_API_KEY_${id.toUpperCase()}`;
const ref = (id: string) => `env:${variable(id)}`;

describe.each<StoreKind>(["sqlite", "postgres"])("key rotation records in the %s store", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  const open: ProviderPools[] = [];

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
  });
  beforeEach(async () => {
    await db.run("DELETE FROM gateway_settings WHERE substr(name, 1, $1) = $2", [PREFIX.length, PREFIX]);
  });
  afterEach(async () => {
    for (const pools of open.splice(0)) await stop(pools);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  /** Stops an instance once the verdicts it heard (its restored promotions' too) are written. */
  const stop = async (pools: ProviderPools) => {
    await pools.settled();
    pools.close();
  };

  /** The vendor keys of `ids`, as the environment holds them. */
  const keysFor = (ids: string[]) => Object.fromEntries(ids.map((id) => [variable(id), vendorKey(id)]));

  /** An instance's pools on the shared store: configured keys `configured`, secrets read from `env`. */
  async function instance(env: Record<string, string>, configured = ["primary", "backup"]) {
    const logs = new LogCapture();
    const health = new HealthState([]);
    const provider = { name: "openai", keys: configured.map((id) => ({ id, secret: parseSecretRef(ref(id)), weight: 1 })), timeoutMs: 1_000 } as unknown as ProviderConfig;
    const pools = await ProviderPools.create([provider], {
      resolver: new SecretResolver([new EnvSecretSource(env)]),
      logger: createLogger("info", logs),
      metrics: new SecretMetrics(new Registry()),
      rules: DEFAULT_KEY_POOL,
      rotations: new KeyRotationRecords(db, createLogger("info", logs)),
      health,
    });
    open.push(pools);
    const states = () => new Map(pools.pool("openai")!.list().map((key) => [key.id.slice("openai/".length), key.state]));
    return { pools, logs, health, states };
  }

  const records = async () =>
    (await db.query("SELECT value FROM gateway_settings WHERE substr(name, 1, $1) = $2", [PREFIX.length, PREFIX]))
      .map((row) => JSON.parse(String(row.value)) as RotationRecord)
      .sort((a, b) => a.stagedAtMs - b.stagedAtMs);

  const write = (record: RotationRecord) =>
    db.run("INSERT INTO gateway_settings (name, value) VALUES ($1, $2)", [`${PREFIX}${record.provider}:${record.credentialId}`, JSON.stringify(record)]);

  /** A record as the store holds it. */
  const record = (id: string, fields: Partial<RotationRecord> & Pick<RotationRecord, "state" | "stagedAtMs">): RotationRecord => ({
    provider: "openai",
    credentialId: id,
    secretRef: ref(id),
    ...fields,
  });

  it("keeps one record for a chain of promotions, none for a rolled-back key, and a restart reaches the same pool", async () => {
    const env = keysFor(["primary", "backup", "k1", "k2", "k3", "withdrawn"]);
    const a = await instance(env);
    let at = 1_000;
    for (const [id, replaces] of [["k1", "backup"], ["k2", "k1"], ["k3", "k2"]] as const) {
      await a.pools.stage("openai", { credentialId: id, secretRef: ref(id), replaces: `openai/${replaces}` }, at++);
      await a.pools.promote("openai", `openai/${id}`, "promoted by the test");
    }
    await a.pools.stage("openai", { credentialId: "withdrawn", secretRef: ref("withdrawn") }, at++);
    await a.pools.rollback("openai", "openai/withdrawn", "wrong project");

    expect(await records()).toEqual([expect.objectContaining({ credentialId: "k3", state: "promoted", replaces: "openai/backup" })]);
    await stop(a.pools);

    const b = await instance(env);
    expect(b.states()).toEqual(
      new Map([
        ["primary", "active"],
        ["backup", "retired"],
        ["k3", "active"],
      ]),
    );
    expect(b.health.dependencies().has(UNRESTORED_ROTATIONS)).toBe(false);
  });

  it("a promotion of a key that replaced a canary takes nothing over from it", async () => {
    const env = keysFor(["primary", "backup", "k1", "k2"]);
    const a = await instance(env);
    await a.pools.stage("openai", { credentialId: "k1", secretRef: ref("k1"), replaces: "openai/backup" }, 1_000);
    await a.pools.stage("openai", { credentialId: "k2", secretRef: ref("k2"), replaces: "openai/k1" }, 1_001);
    await a.pools.promote("openai", "openai/k2", "promoted by the test");
    expect(a.states()).toEqual(
      new Map([
        ["primary", "active"],
        ["backup", "active"],
        ["k1", "retired"],
        ["k2", "active"],
      ]),
    );
    const [only, ...rest] = await records();
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ credentialId: "k2", state: "promoted" });
    expect(only!.replaces).toBeUndefined();
    await stop(a.pools);

    expect((await instance(env)).states()).toEqual(
      new Map([
        ["primary", "active"],
        ["backup", "active"],
        ["k2", "active"],
      ]),
    );
  });

  it("prunes the records earlier versions left behind when it reads them, and builds the pool they described", async () => {
    await write(record("k1", { state: "retired", replaces: "openai/backup", replacedBy: "openai/k2", stagedAtMs: 1 }));
    await write(record("withdrawn", { state: "rolled_back", stagedAtMs: 2 }));
    await write(record("k2", { state: "retired", replaces: "openai/k1", replacedBy: "openai/k3", stagedAtMs: 3 }));
    await write(record("k3", { state: "promoted", replaces: "openai/k2", stagedAtMs: 4 }));
    // Retired in favour of a key that was itself withdrawn: it holds nothing back.
    await write(record("orphan", { state: "retired", replaces: "openai/primary", replacedBy: "openai/gone", stagedAtMs: 5 }));
    const env = keysFor(["primary", "backup", "k3"]);

    const a = await instance(env);
    const expected = new Map([
      ["primary", "active"],
      ["backup", "retired"],
      ["k3", "active"],
    ]);
    expect(a.states()).toEqual(expected);
    expect(await records()).toEqual([record("k3", { state: "promoted", replaces: "openai/backup", stagedAtMs: 4 })]);
    expect(a.logs.entries.filter((e) => e.msg === "pruned key rotation records that no longer decide anything")).toMatchObject([{ rewritten: 1, deleted: 4 }]);
    await stop(a.pools);

    expect((await instance(env)).states()).toEqual(expected);
  });

  it("keeps the keys a promotion retired out of service when its secret cannot be read, says so once, and shows it in health", async () => {
    await write(record("k3", { state: "promoted", replaces: "openai/backup", stagedAtMs: 1 }));
    const env = keysFor(["primary", "backup"]);

    const a = await instance(env);
    expect(a.states()).toEqual(
      new Map([
        ["primary", "active"],
        ["backup", "retired"],
      ]),
    );
    expect(a.logs.entries.filter((e) => e.msg === UNRESTORED_ROTATION)).toMatchObject([
      { level: "warn", provider: "openai", credential: "k3", source: ref("k3"), state: "promoted", error: expect.stringContaining(variable("k3")) },
    ]);
    const degraded = a.health.dependencies().get(UNRESTORED_ROTATIONS);
    expect(degraded).toMatchObject({ ok: false, required: false });
    expect(degraded!.detail).toContain('openai: "k3"');
    // Health is open to anyone who reaches the port: the reference is in the log only.
    expect(degraded!.detail).not.toContain(variable("k3"));
    expect(a.health.ready()).toBe(true);
    for (const secret of Object.values(env)) expect(a.logs.text).not.toContain(secret);

    // The record stays: once its secret can be read again, a restart re-applies it.
    await stop(a.pools);
    const b = await instance({ ...env, ...keysFor(["k3"]) });
    expect(b.states()).toEqual(
      new Map([
        ["primary", "active"],
        ["backup", "retired"],
        ["k3", "active"],
      ]),
    );
    expect(b.health.dependencies().has(UNRESTORED_ROTATIONS)).toBe(false);
    await stop(b.pools);

    // An operator staging a key under its id supersedes it.
    const c = await instance(env);
    expect(c.health.dependencies().get(UNRESTORED_ROTATIONS)?.ok).toBe(false);
    env[variable("k3b")] = vendorKey("k3b");
    await c.pools.stage("openai", { credentialId: "k3", secretRef: ref("k3b") });
    expect(c.health.dependencies().get(UNRESTORED_ROTATIONS)?.ok).toBe(true);
  });

  it("refuses to start when the keys a promotion retired were all there was and its secret cannot be read", async () => {
    await write(record("k3", { state: "promoted", replaces: "openai/backup", stagedAtMs: 1 }));
    const env = keysFor(["backup"]);
    const start = instance(env, ["backup"]);
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    const error = (await start.catch((err: unknown) => err)) as ConfigError;
    expect(error.message).toContain('provider "openai" has no usable key');
    expect(error.message).toContain(`"k3" (${ref("k3")}): cannot read the secret`);
    expect(error.message).toContain("make the references readable again");
    expect(error.message).not.toContain(env[variable("backup")]!);
  });

  it("refuses to start naming the real reason when a promotion is refused although its reference reads fine", async () => {
    // A record of an earlier version, before StageKey's env: rule: the variable is set, the reference is refused.
    await write(record("k5", { state: "promoted", replaces: "openai/backup", secretRef: "env:SWITCHBOARD_OLD_KEY", stagedAtMs: 1 }));
    const env = { ...keysFor(["backup"]), SWITCHBOARD_OLD_KEY: vendorKey("k5") };
    const error = (await instance(env, ["backup"]).catch((err: unknown) => err)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"k5" (env:SWITCHBOARD_OLD_KEY): secret_ref may name only a key variable of the provider');
    expect(error.message).toContain("fix what the errors name");
    expect(error.message).not.toContain("readable");
    for (const secret of Object.values(env)) expect(error.message).not.toContain(secret);
  });

  it("starts on the configured keys when only a canary cannot be read: it had taken nothing out of service", async () => {
    await write(record("k4", { state: "staged", replaces: "openai/backup", stagedAtMs: 1 }));
    const a = await instance(keysFor(["backup"]), ["backup"]);
    expect(a.states()).toEqual(new Map([["backup", "active"]]));
    expect(a.logs.entries.filter((e) => e.msg === UNRESTORED_ROTATION)).toMatchObject([{ level: "warn", credential: "k4", state: "staged" }]);
  });
});
