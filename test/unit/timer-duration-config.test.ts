// Node's timers (setTimeout, setInterval, AbortSignal.timeout, a server's
// timeouts) wait at most 2^31 - 1 ms, about 24.8 days; given more they fire
// after 1 ms. Every setting that ends up in one is refused past that at load
// (or past a tighter bound it has), rather than turning "a month" into "at
// once": a 3e9 ms refresh polled every millisecond. Settings compared with
// timestamps only (a cache entry's TTL, a breaker's window) are not bounded so.
// A new timer setting gets a row here.
import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema } from "../../src/config/schema.js";
import { MAX_TIMER_MS } from "../../src/config/durations.js";

/** The setting's path in the YAML file, and the largest value it takes. */
const TIMER_SETTINGS: [path: string, most: number][] = [
  ["providers.openai.timeout_ms", MAX_TIMER_MS],
  ["providers.openai.first_token_timeout_ms", MAX_TIMER_MS],
  ["providers.openai.hedge.delay_ms", MAX_TIMER_MS],
  ["server.shutdown_grace_ms", MAX_TIMER_MS],
  ["server.headers_timeout_ms", MAX_TIMER_MS],
  ["server.request_timeout_ms", MAX_TIMER_MS],
  ["server.keep_alive_timeout_ms", MAX_TIMER_MS],
  ["server.http2_idle_timeout_ms", MAX_TIMER_MS],
  ["server.answer_stall_timeout_ms", MAX_TIMER_MS],
  ["server.health_watch_max_age_ms", MAX_TIMER_MS],
  ["traffic.retry.base_delay_ms", MAX_TIMER_MS],
  ["traffic.retry.max_delay_ms", MAX_TIMER_MS],
  ["traffic.retry.max_retry_after_ms", MAX_TIMER_MS],
  ["traffic.adaptive_timeout.min_ms", MAX_TIMER_MS],
  ["secrets.vault.refresh_ms", MAX_TIMER_MS],
  ["secrets.vault.timeout_ms", MAX_TIMER_MS],
  ["secrets.aws.refresh_ms", MAX_TIMER_MS],
  // Three attempts share one timer of three times timeout_ms.
  ["secrets.aws.timeout_ms", Math.floor(MAX_TIMER_MS / 3)],
  ["secrets.db.refresh_ms", MAX_TIMER_MS],
  ["ledger.flush_interval_ms", MAX_TIMER_MS],
  // Tighter bounds of their own.
  ["key_pool.disabled_keys_refresh_ms", 3_600_000],
  ["store.query_timeout_ms", 600_000],
  ["cache.coalesce.wait_ms", 120_000],
  ["cache.coalesce.remote_wait_ms", 30_000],
  ["cache.coalesce.stall_ms", 120_000],
];

/** A file setting only `path` to `value`. */
function fileWith(path: string, value: number): Record<string, unknown> {
  return path
    .split(".")
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

describe("settings that end up in a Node timer", () => {
  it.each(TIMER_SETTINGS)("%s takes at most %d", (path, most) => {
    expect(fileSchema.safeParse(fileWith(path, most)).success).toBe(true);
    const refused = fileSchema.safeParse(fileWith(path, most + 1));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path.join(".")).toBe(path);
  });

  it("are refused past 24.8 days with a message that says why", () => {
    const refused = fileSchema.safeParse({ secrets: { vault: { refresh_ms: 3e9 } } });
    expect(refused.error?.issues[0]?.message).toBe("must be at most 2147483647 (about 24.8 days: Node's timers take no longer)");
    expect(fileSchema.safeParse({ secrets: { aws: { timeout_ms: 3e9 } } }).error?.issues[0]?.message).toMatch(/^must be at most 715827882 \(3 times that is about 24\.8 days/);
  });

  it("reach the configuration as written, up to the bound", () => {
    const config = buildConfig(fileSchema.parse({ server: { shutdown_grace_ms: MAX_TIMER_MS }, secrets: { db: { refresh_ms: MAX_TIMER_MS } } }), { OPENAI_API_KEY: "sk-x" }, "file");
    expect(config.server.shutdownGraceMs).toBe(MAX_TIMER_MS);
    expect(config.secrets?.db.refreshMs).toBe(MAX_TIMER_MS);
  });

  it("leave timestamp-only durations unbounded by timers: a cache entry may live 30 days", () => {
    expect(fileSchema.safeParse({ cache: { ttl_ms: 30 * 86_400_000 } }).success).toBe(true);
    expect(fileSchema.safeParse({ traffic: { breaker: { window_ms: 3e9 } } }).success).toBe(true);
  });
});
