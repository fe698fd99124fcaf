import { Registry } from "prom-client";
import { parseSecretRef, type ProviderConfig } from "../../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../../src/config/secrets-config.js";
import { createLogger } from "../../../src/observability/logger.js";
import { DisabledSecrets } from "../../../src/secrets/disabled-secrets.js";
import { KeyRotationRecords } from "../../../src/secrets/key-rotation-records.js";
import { KeyVersionMemory } from "../../../src/secrets/key-version-memory.js";
import { ProviderPools } from "../../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../../src/secrets/secret-metrics.js";
import { EnvSecretSource, SecretResolver } from "../../../src/secrets/secret-source.js";
import { VaultClient } from "../../../src/secrets/vault-client.js";
import { VaultSecretSource } from "../../../src/secrets/vault-secret-source.js";
import type { SqlDatabase } from "../../../src/store/sql.js";
import { LogCapture } from "../../support/gateway.js";

const REFRESH_MS = 60_000;

/**
 * One instance's key pools for provider "openai", its key "primary" read from
 * `ref` in Vault at `addr` (and, with `spare`, a key "spare" of that value),
 * its verdicts, disabled secrets and StageKey rotations in `db`; `env` holds
 * the variables keys may be staged from (`env:OPENAI_API_KEY_…`).
 * Vault is polled on a clock the test moves: each `poll()` is one due re-read
 * of the watched secrets, so nothing waits on a timer.
 */
export async function vaultPools(options: { addr: string; token: string; ref: string; db: SqlDatabase; spare?: string; env?: Record<string, string> }) {
  const logs = new LogCapture();
  const logger = createLogger("info", logs);
  const clock = { now: 1_000_000 };
  const degraded: (string | undefined)[] = [];
  const client = new VaultClient({ address: options.addr, auth: { method: "token", token: options.token }, timeoutMs: 2_000, logger });
  const source = new VaultSecretSource(client, { refreshMs: REFRESH_MS, logger, now: () => clock.now, reportDegraded: (_component, problem) => degraded.push(problem) });
  const keys = [{ id: "primary", secret: parseSecretRef(options.ref), weight: 1 }];
  if (options.spare) keys.push({ id: "spare", secret: parseSecretRef("env:SPARE_KEY"), weight: 1 });
  const provider = { name: "openai", keys, timeoutMs: 1_000 } as unknown as ProviderConfig;
  const close = async () => {
    pools?.close();
    await source.close();
  };
  let pools: ProviderPools | undefined;
  try {
    pools = await ProviderPools.create([provider], {
      resolver: new SecretResolver([source, new EnvSecretSource({ ...options.env, SPARE_KEY: options.spare })], logger),
      logger,
      metrics: new SecretMetrics(new Registry()),
      rules: DEFAULT_KEY_POOL,
      memory: new KeyVersionMemory(options.db, logger),
      disabled: new DisabledSecrets(options.db),
      rotations: new KeyRotationRecords(options.db, logger),
    });
  } catch (err) {
    await close();
    throw Object.assign(err as Error, { logs });
  }
  const started = pools;
  return {
    pools: started,
    pool: () => started.pool("openai")!,
    /** The state of each key, by version: { 1: "active", 2: "standby" }. */
    states: () => Object.fromEntries(started.pool("openai")!.list().map((key) => [key.version ?? key.slot, key.state])),
    logs,
    /** What the source told health on each change (undefined: well again). */
    degraded,
    async poll() {
      clock.now += REFRESH_MS;
      await source.refreshWatched();
    },
    close,
  };
}

export type VaultPools = Awaited<ReturnType<typeof vaultPools>>;

/** Starts pools as `vaultPools` does, runs `use` on them, and closes them, whatever `use` did. */
export async function withVaultPools<T>(options: Parameters<typeof vaultPools>[0], use: (running: VaultPools) => T | Promise<T>): Promise<T> {
  const running = await vaultPools(options);
  try {
    return await use(running);
  } finally {
    await running.close();
  }
}
