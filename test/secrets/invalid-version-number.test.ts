// A version number that is no positive whole number is the source's fault (a
// broken or hostile Vault, or a proxy, answering "version": -5 or 1e21): it is
// refused and logged, never taken for an older version served again (audit
// secrets F2: "primary@v-5" went ACTIVE at once, draining the good key).
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseSecretRef, type ProviderConfig } from "../../src/config/config.js";
import { DEFAULT_KEY_POOL } from "../../src/config/secrets-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { ProviderPools } from "../../src/secrets/provider-pools.js";
import { SecretMetrics } from "../../src/secrets/secret-metrics.js";
import { SecretResolver, type SecretSource, type SecretVersion } from "../../src/secrets/secret-source.js";
import { LogCapture } from "../support/gateway.js";

const GOOD = "sk-good-invalid-version-0123456789abcdef";
const HOSTILE = "sk-hostile-invalid-version-0123456789abcdef";

/** A "vault:" source that answers `first`, then whatever versions the test hands its watchers. */
function fakeVault(first: SecretVersion) {
  const watchers: ((secret: SecretVersion) => void)[] = [];
  const source: SecretSource = {
    scheme: "vault",
    resolve: async () => first.value,
    read: async () => first,
    watch: (_ref, onChange) => {
      watchers.push(onChange);
      return () => {};
    },
  };
  return { source, serve: (secret: SecretVersion) => watchers.forEach((watcher) => watcher(secret)) };
}

async function poolsOn(first: SecretVersion) {
  const vault = fakeVault(first);
  const logs = new LogCapture();
  const logger = createLogger("info", logs);
  const provider = { name: "openai", keys: [{ id: "primary", secret: parseSecretRef("vault:secret/switchboard/openai#api_key"), weight: 1 }], timeoutMs: 1_000 } as unknown as ProviderConfig;
  const pools = await ProviderPools.create([provider], { resolver: new SecretResolver([vault.source], logger), logger, metrics: new SecretMetrics(new Registry()), rules: DEFAULT_KEY_POOL });
  return { pools, logs, serve: vault.serve };
}

describe("a version number that is no positive whole number", () => {
  it.each([-5, 0, 1.5, 1e21])("from a watched source (%s): refused and logged, the good key serves on", async (version) => {
    const { pools, logs, serve } = await poolsOn({ value: GOOD, version: 3 });
    try {
      serve({ value: HOSTILE, version });
      await expect.poll(() => logs.entries.find((entry) => entry.msg === "could not stage a new version of a key")).toBeDefined();
      const refusal = logs.entries.find((entry) => entry.msg === "could not stage a new version of a key")!;
      expect(String(refusal.error)).toContain("which is no version number (a positive whole number)");
      expect(pools.pool("openai")!.list().map((key) => [key.id, key.state])).toEqual([["openai/primary@v3", "active"]]);
      expect(logs.text).not.toContain(HOSTILE);
    } finally {
      pools.close();
    }
  });

  it("at start: the start stops, naming the reference", async () => {
    await expect(poolsOn({ value: GOOD, version: -5 })).rejects.toThrow(/vault:secret\/switchboard\/openai#api_key.*version -5, which is no version number/);
  });
});
