// A slow Redis (one that answers, just not soon) costs a cacheable miss one
// round trip before its vendor call, not one per step: the L2 read and the
// fleet lock are one script. Before, the read, the lock and a second read
// went one after the other, so a Redis answering in 400 ms held every miss
// for 1.2 s (audit "cache", finding 2). Redis's replies are held in a gate the
// test opens one round at a time: what is counted is the round trips a call
// waited for, never the time it took.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer } from "../../src/cache/coalescer.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
import { RedisTier, type PutResult } from "../../src/cache/redis-tier.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE } from "../../src/config/cache-config.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { addressOf } from "../support/tcp-proxy.js";
import { answer, ctx, logger, now, openai, question } from "./support/cache-instance.js";
import { replyGate, type ReplyGate } from "./support/reply-gate.js";

const secret = new CacheSecret(Buffer.from("a cache secret for the slow Redis tests"));

/** Until `done()`, checked each millisecond (how long it takes is not the test's business). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe("a cacheable call when Redis is slow", () => {
  let gate: ReplyGate;
  let link: RedisLink;
  beforeAll(async () => {
    const url = new URL(requireService("SWITCHBOARD_TEST_REDIS_URL"));
    gate = await replyGate(addressOf(url.toString()));
    url.hostname = "127.0.0.1";
    url.port = String(gate.port);
    link = new RedisLink({ url: url.toString(), prefix: redisPrefix(), logger });
    await link.connect();
  });
  afterAll(async () => {
    gate?.open();
    await link?.close();
    await gate?.stop();
  });

  /** One instance's cache as the gateway wires it: L1, L2 and fleet-wide coalescing on the same Redis, on the test's clock. */
  function instance() {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), DEFAULT_CACHE.redis, now);
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, remote: tier, now });
    const memory = new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now });
    const cache = new TieredCache({ policy: new CachePolicy([], { ...DEFAULT_CACHE.defaults, share: "route" }), secret, memory, redis: tier, coalescer, metrics, logger, now });
    const puts = vi.spyOn(tier, "put");
    return { cache, written: async () => (await puts.mock.results.at(-1)!.value) as PutResult };
  }

  /** Runs `work` with Redis's replies held, letting them through one round at a time; how many rounds it waited for. */
  async function roundTrips<T>(work: () => Promise<T>): Promise<{ result: T; rounds: number }> {
    gate.close();
    try {
      let settled = false;
      const running = work().finally(() => (settled = true));
      let rounds = 0;
      for (;;) {
        await until(() => settled || gate.holding > 0);
        if (settled) break;
        rounds++;
        gate.release();
      }
      return { result: await running, rounds };
    } finally {
      gate.open();
    }
  }

  it("waits one round trip before its vendor call on a miss, where it read, locked and read again one after the other", async () => {
    const { cache } = instance();
    // Redis has run each script once: what is counted below is the call's own commands, not a script's first load.
    (await cache.lookup(question(`warm up ${randomBytes(4).toString("hex")}`), [openai], ctx("slow"))).release();

    const { result: miss, rounds } = await roundTrips(() => cache.lookup(question(`a new question ${randomBytes(4).toString("hex")}`), [openai], ctx("slow")));
    expect(miss.status).toBe("miss");
    expect(rounds).toBe(1);
    miss.release();
  });

  it("waits one round trip for an answer another instance kept in Redis", async () => {
    const [first, second] = [instance(), instance()];
    const content = `asked on two instances ${randomBytes(4).toString("hex")}`;
    const miss = await first.cache.lookup(question(content), [openai], ctx("slow"));
    miss.store(answer("kept in Redis"));
    expect(await first.written()).toBe("written");
    // The second instance's memory is empty: the answer comes from Redis.
    (await second.cache.lookup(question(`warm up ${randomBytes(4).toString("hex")}`), [openai], ctx("slow"))).release();
    const { result: hit, rounds } = await roundTrips(() => second.cache.lookup(question(content), [openai], ctx("slow")));
    expect([hit.status, hit.answer?.message.content, rounds]).toEqual(["hit", "kept in Redis", 1]);
  });
});
