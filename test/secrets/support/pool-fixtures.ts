import { createLogger } from "../../../src/observability/logger.js";
import { GatewayMetrics } from "../../../src/observability/metrics.js";
import { UpstreamError, type UpstreamErrorKind } from "../../../src/providers/upstream-error.js";
import { createCredential, type Credential } from "../../../src/secrets/credential.js";
import { KeyPool, type KeyPoolOptions, type PoolEntry } from "../../../src/secrets/key-pool.js";
import { SecretMetrics } from "../../../src/secrets/secret-metrics.js";
import { LogCapture } from "../../support/gateway.js";

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** A seeded PRNG (mulberry32): the same picks on every run. */
export function seededRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function failure(kind: UpstreamErrorKind, extra: { status?: number; retryAfterMs?: number; vendorCode?: string } = {}) {
  return { ok: false as const, error: new UpstreamError({ kind, provider: "openai", message: `${kind} from the fake`, ...extra }) };
}

export const OK = { ok: true as const };

/** A pool over named keys (secret = "sk-live-<id>-…"), with captured logs and metrics. */
export function testPool(keys: { id: string; weight?: number }[], options: KeyPoolOptions = {}) {
  const logs = new LogCapture();
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const secretMetrics = new SecretMetrics(metrics.registry);
  const secrets = new Map<string, string>();
  const credential = (id: string): Credential => {
    const secret = `sk-live-${id}-${"x".repeat(24)}`;
    secrets.set(id, secret);
    return createCredential(`openai/${id}`, secret);
  };
  const entries: PoolEntry[] = keys.map((key) => ({ credential: credential(key.id), weight: key.weight ?? 1, slot: key.id }));
  const pool = new KeyPool("openai", entries, { logger: createLogger("info", logs), metrics: secretMetrics, ...options });
  secretMetrics.countKeysWith(() => [pool.census()]);
  return { pool, logs, metrics, credential, secrets };
}

/** Counts picks per key id over `n` picks. */
export function tally(pool: KeyPool, n: number, after?: (credential: Credential) => void): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const credential = pool.pick();
    counts.set(credential.id, (counts.get(credential.id) ?? 0) + 1);
    after?.(credential);
  }
  return counts;
}
