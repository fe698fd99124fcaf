// `peekRequests`: what `acquire` would say of one more request by the
// requests-per-minute limit, taking nothing. The gateway asks it before a
// call's request is read (UsageHooks.screen), so it must agree with
// `acquire`, in memory and on Redis, and never use up an allowance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryRateLimiter, type RateLimiter } from "../../src/limits/rate-limiter.js";
import { RedisRateLimiter } from "../../src/limits/redis-rate-limiter.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const redisErrors = () => new RedisErrors(new GatewayMetrics({ defaultMetrics: false }).redisErrors, logger);
const limits = { requestsPerMinute: 3, tokensPerMinute: 1000 };

describe("the in-memory limiter", () => {
  it("says what acquire would, without taking a request", () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(() => now);
    for (let i = 0; i < 3; i++) {
      // Asked any number of times, the peek leaves the allowance whole.
      for (let j = 0; j < 5; j++) expect(limiter.peekRequestsNow("k", 3)).toEqual({ allowed: true });
      expect(limiter.acquireNow("k", limits, 10).allowed).toBe(true);
    }
    expect(limiter.peekRequestsNow("k", 3)).toEqual({ allowed: false, limit: "requests", retryAfterMs: 20_000 });
    expect(limiter.acquireNow("k", limits, 10)).toEqual({ allowed: false, limit: "requests", retryAfterMs: 20_000 });
    now += 20_000;
    expect(limiter.peekRequestsNow("k", 3).allowed).toBe(true);
    // Unlimited, and another key: allowed.
    expect(limiter.peekRequestsNow("k", 0).allowed).toBe(true);
    expect(limiter.peekRequestsNow("other", 3).allowed).toBe(true);
    limiter.close();
  });

  it("judges requests alone: a key out of tokens is for admission to refuse, with the call's estimate", () => {
    const limiter = new MemoryRateLimiter(() => 0);
    expect(limiter.acquireNow("k", limits, 1000).allowed).toBe(true);
    expect(limiter.acquireNow("k", limits, 10)).toMatchObject({ allowed: false, limit: "tokens" });
    expect(limiter.peekRequestsNow("k", 3).allowed).toBe(true);
    limiter.close();
  });
});

describe("the Redis limiter", () => {
  let link: RedisLink;
  let limiter: RateLimiter;
  beforeAll(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    await link.connect();
    limiter = new RedisRateLimiter(link, "open", redisErrors());
  });
  afterAll(async () => {
    limiter?.close();
    await link?.close();
  });

  it("says what acquire would, on Redis's clock, without taking a request", async () => {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) expect(await limiter.peekRequests("peeked", 3)).toEqual({ allowed: true });
      expect((await limiter.acquire("peeked", limits, 10)).allowed).toBe(true);
    }
    const peeked = await limiter.peekRequests("peeked", 3);
    expect(peeked).toMatchObject({ allowed: false, limit: "requests" });
    const retryAfterMs = (peeked as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(await limiter.acquire("peeked", limits, 10)).toMatchObject({ allowed: false, limit: "requests" });
    expect((await limiter.peekRequests("untouched", 3)).allowed).toBe(true);
  });

  it("peeks at the local count when Redis is unreachable (fail open), or refuses as acquire does (fail closed)", async () => {
    const down = new RedisLink({ url: "redis://127.0.0.1:1", prefix: redisPrefix(), logger });
    await down.connect();
    const open = new RedisRateLimiter(down, "open", redisErrors());
    const closed = new RedisRateLimiter(down, "closed", redisErrors());
    const one = { requestsPerMinute: 1, tokensPerMinute: 0 };
    expect((await open.peekRequests("k", 1)).allowed).toBe(true);
    expect((await open.acquire("k", one, 0)).allowed).toBe(true);
    expect((await open.peekRequests("k", 1)).allowed).toBe(false);
    await expect(closed.peekRequests("k", 1)).rejects.toThrow(/Redis is unreachable/);
    open.close();
    closed.close();
    await down.close();
  });
});
