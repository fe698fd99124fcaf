// One vendor account's key configured under two providers (an "openai" and an
// "openai-batch" entry): DisableKey on it under one provider takes it out of
// both pools at once, a restart starts both disabled, and rows written when the
// refusal was kept per provider still refuse it everywhere. StageKey lifts it.
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSecretRef, type ProviderConfig } from "../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../src/config/secrets-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { DisabledSecrets } from "../../src/secrets/disabled-secrets.js";
import { ProviderPools } from "../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { EnvSecretSource, SecretResolver } from "../../src/secrets/secret-source.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { LogCapture } from "../support/gateway.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const SHARED = `sk-shared-${randomBytes(12).toString("hex")}`;
const env = {
  OPENAI_API_KEY: SHARED,
  OPENAI_API_KEY_2: `sk-other-${randomBytes(12).toString("hex")}`,
  OPENAI_BATCH_API_KEY: SHARED,
};
const REASON = 'disabled by "master": leaked';
const ALSO_DISABLED = "this key's secret was disabled (DisableKey, or deleted at its source) as another key, on another instance or before a restart: it is disabled here too";

const key = (id: string, ref: string) => ({ id, secret: parseSecretRef(ref), weight: 1 });
const providers = [
  { name: "openai", keys: [key("main", "env:OPENAI_API_KEY"), key("second", "env:OPENAI_API_KEY_2")], timeoutMs: 1_000 },
  { name: "openai-batch", keys: [key("main", "env:OPENAI_BATCH_API_KEY")], timeoutMs: 1_000 },
] as unknown as ProviderConfig[];

describe.each<StoreKind>(["sqlite", "postgres"])("a disabled secret held by two providers' pools, on the %s store", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  /** An instance's pools on the shared store. */
  async function instance() {
    const logs = new LogCapture();
    const pools = await ProviderPools.create(providers, {
      resolver: new SecretResolver([new EnvSecretSource(env)]),
      logger: createLogger("info", logs),
      metrics: new SecretMetrics(new Registry()),
      rules: DEFAULT_KEY_POOL,
      disabled: new DisabledSecrets(db),
    });
    const states = () => pools.names().flatMap((name) => pools.pool(name)!.list().map((k) => [k.id, k.state, k.reason]));
    return { pools, logs, states };
  }
  const rows = async () => (await db.query("SELECT name FROM gateway_settings WHERE substr(name, 1, 16) = 'disabled_secret:'")).map((row) => String(row.name));

  it("takes it out of every pool at DisableKey, and both start disabled after a restart", async () => {
    const a = await instance();
    try {
      expect(await a.pools.disable("openai", "openai/main", REASON)).toMatchObject({ stored: true, view: { state: "disabled" } });
      expect(a.states()).toEqual([
        ["openai/main", "disabled", REASON],
        ["openai/second", "active", expect.any(String)],
        ["openai-batch/main", "disabled", REASON],
      ]);
      // Which pool it was taken out of, and as what, is said once.
      const said = a.logs.entries.filter((e) => e.msg === ALSO_DISABLED);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatchObject({ level: "warn", provider: "openai-batch", credential: "openai-batch/main", disabledAs: "openai/main" });
      expect(() => a.pools.pool("openai-batch")!.pick()).toThrow(/no usable key/);

      // One row for the secret, named by its digest alone.
      expect(await rows()).toEqual([expect.stringMatching(/^disabled_secret:[0-9a-f]{64}$/)]);

      const restarted = await instance();
      expect(restarted.states().filter(([, state]) => state === "disabled").map(([id]) => id)).toEqual(["openai/main", "openai-batch/main"]);
      restarted.pools.close();
      expect(a.logs.text + restarted.logs.text).not.toContain(SHARED);
    } finally {
      a.pools.close();
    }
  });

  it("reads a row kept per provider before as refusing the secret everywhere, and StageKey lifts it", async () => {
    // What a store written by an earlier version holds: disabled_secret:<provider>:<digest>.
    await db.run("UPDATE gateway_settings SET name = 'disabled_secret:openai:' || substr(name, 17) WHERE substr(name, 1, 16) = 'disabled_secret:'");
    expect(await rows()).toEqual([expect.stringMatching(/^disabled_secret:openai:[0-9a-f]{64}$/)]);

    const b = await instance();
    try {
      expect(b.pools.pool("openai-batch")!.get("openai-batch/main")).toMatchObject({ state: "disabled", reason: REASON });
      expect(b.pools.pool("openai")!.get("openai/main")).toMatchObject({ state: "disabled", reason: REASON });

      // Staged again under the other provider: the refusal is lifted for the secret, old row included.
      await b.pools.stage("openai-batch", { credentialId: "back", secretRef: "env:OPENAI_BATCH_API_KEY" });
      expect(b.pools.pool("openai-batch")!.get("openai-batch/back")?.state).toBe("standby");
      expect(await rows()).toEqual([]);
      const fresh = await instance();
      expect(fresh.states().every(([, state]) => state === "active")).toBe(true);
      fresh.pools.close();
    } finally {
      b.pools.close();
    }
  });
});
