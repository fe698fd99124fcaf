// A stalled Redis (a fork, a failover, a slow script: the connection stays up,
// nothing is answered) costs the calls during the stall one command timeout
// in all, not one or two each: after a timeout the cache leaves Redis alone
// for a back-off on its own clock, which the test moves, then one command
// probes it. The stall is a loopback forwarder that holds what the gateway
// sends until resumed; what the test counts is the commands sent to Redis,
// never the time a call took.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer } from "../../src/cache/coalescer.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
import { RedisTier } from "../../src/cache/redis-tier.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE } from "../../src/config/cache-config.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { addressOf, tcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { ctx, logger, openai, question } from "./support/cache-instance.js";

const secret = new CacheSecret(Buffer.from("a cache secret for the stall tests"));

async function errorCount(metrics: GatewayMetrics, operation: string): Promise<number> {
  return (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

describe("the response cache when Redis stalls", () => {
  let proxy: TcpProxy;
  let link: RedisLink;
  beforeAll(async () => {
    const url = requireService("SWITCHBOARD_TEST_REDIS_URL");
    proxy = await tcpProxy(addressOf(url));
    await proxy.open();
    // A short command timeout: the stalled commands give up soon (no assertion reads the time they took).
    link = new RedisLink({ url: throughProxy(url, proxy), prefix: redisPrefix(), logger, commandTimeoutMs: 200 });
    await link.connect();
  });
  afterAll(async () => {
    proxy?.resume();
    await link?.close();
    await proxy?.close();
  });

  it("sends one command per back-off while Redis does not answer, one claim per call (the read and the lock together), and asks again once it answers", async () => {
    const now = { ms: 3_000_000 };
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), DEFAULT_CACHE.redis, () => now.ms);
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, remote: tier, now: () => now.ms });
    const memory = new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now: () => now.ms });
    const cache = new TieredCache({ policy: new CachePolicy([], DEFAULT_CACHE.defaults), secret, memory, redis: tier, coalescer, metrics, logger, now: () => now.ms });
    const client = link.client as unknown as Record<"getBuffer" | "set" | "sbCacheClaimBuffer", () => unknown>;
    const [reads, locks, claims] = [vi.spyOn(client, "getBuffer"), vi.spyOn(client, "set"), vi.spyOn(client, "sbCacheClaimBuffer")];
    const lookup = (what: string) => cache.lookup(question(`${what} ${randomBytes(4).toString("hex")}`), [openai], ctx("stall"));
    const sent = () => ({ reads: reads.mock.calls.length, locks: locks.mock.calls.length, claims: claims.mock.calls.length });
    // A lead whose claim Redis did not answer may hold the lock: its release sends the unlock all the same, which times out too.
    const unlocksTimedOut = (count: number) => expect.poll(() => errorCount(metrics, "cache_unlock"), { timeout: 5_000 }).toBe(count);

    // Redis answers: a miss reads L2 and takes the fleet lock in one command.
    (await lookup("before the stall")).release();
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 1 });

    proxy.stall();
    // The claim times out: the call goes on alone (one timeout, not two)...
    const first = await lookup("the first during the stall");
    expect(first.status).toBe("miss");
    first.release();
    await unlocksTimedOut(1);
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 2 });
    expect([await errorCount(metrics, "cache_claim"), await errorCount(metrics, "cache_backoff")]).toEqual([1, 1]);
    // ...and the calls after it ask Redis nothing (skipped, counted) until the back-off is over.
    for (const what of ["second", "third"]) (await lookup(`the ${what} during the stall`)).release();
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 2 });
    expect(await errorCount(metrics, "cache_claim")).toBe(3);
    expect(tier.isUp).toBe(false);

    // Then one call probes Redis; the calls during the probe do not. Still stalled: another back-off.
    now.ms += 1_000;
    const [probe, during] = [lookup("the probe"), lookup("during the probe")];
    for (const miss of await Promise.all([probe, during])) miss.release();
    await unlocksTimedOut(2);
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 3 });
    expect(await errorCount(metrics, "cache_backoff")).toBe(2);
    (await lookup("in the second back-off")).release();
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 3 });

    // Redis answers again: the next probe's answer ends the back-off, and the lock is taken again.
    proxy.resume();
    now.ms += 1_000;
    (await lookup("the probe after the stall")).release();
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 4 });
    expect(tier.isUp).toBe(true);
    (await lookup("after the stall")).release();
    expect(sent()).toEqual({ reads: 0, locks: 0, claims: 5 });
    expect(await errorCount(metrics, "cache_backoff")).toBe(2);
  }, 20_000);
});
