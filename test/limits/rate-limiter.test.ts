import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryRateLimiter, type RateLimiter } from "../../src/limits/rate-limiter.js";
import { RedisRateLimiter } from "../../src/limits/redis-rate-limiter.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { linksToTestRedis, silentLogger, silentRedisErrors } from "../support/redis-instances.js";
import { redisPrefix } from "../support/stores.js";

describe("the in-memory limiter (GCRA)", () => {
  it("allows a minute's requests in a burst, then one more each interval", () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(() => now);
    const limits = { requestsPerMinute: 6, tokensPerMinute: 0 };
    for (let i = 0; i < 6; i++) expect(limiter.acquireNow("k", limits, 0)).toEqual({ allowed: true });
    expect(limiter.acquireNow("k", limits, 0)).toEqual({ allowed: false, limit: "requests", retryAfterMs: 10_000 });
    now += 9_999;
    expect(limiter.acquireNow("k", limits, 0).allowed).toBe(false);
    now += 1;
    expect(limiter.acquireNow("k", limits, 0).allowed).toBe(true);
    // Keys do not share allowances.
    expect(limiter.acquireNow("other", limits, 0).allowed).toBe(true);
    limiter.close();
  });

  it("takes estimated tokens, then reconciles them with real usage", () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    const limits = { requestsPerMinute: 0, tokensPerMinute: 1000 };
    expect(limiter.acquireNow("k", limits, 800).allowed).toBe(true);
    expect(limiter.acquireNow("k", limits, 300)).toMatchObject({ allowed: false, limit: "tokens" });
    // The call used only 100 tokens: 700 come back.
    void limiter.adjustTokens("k", limits, 100 - 800);
    expect(limiter.acquireNow("k", limits, 300).allowed).toBe(true);
    expect(limiter.acquireNow("k", limits, 700)).toMatchObject({ allowed: false, limit: "tokens" });
    // A request larger than a whole minute's tokens waits for a full allowance instead of never passing.
    now += 60_000;
    expect(limiter.acquireNow("k", limits, 5000).allowed).toBe(true);
    limiter.close();
  });

  it("takes nothing from either limit when one refuses", () => {
    const limiter = new MemoryRateLimiter(() => 0);
    const limits = { requestsPerMinute: 2, tokensPerMinute: 100 };
    expect(limiter.acquireNow("k", limits, 100).allowed).toBe(true);
    expect(limiter.acquireNow("k", limits, 50)).toMatchObject({ allowed: false, limit: "tokens" });
    // The refused call did not use up the second request.
    expect(limiter.acquireNow("k", { ...limits, tokensPerMinute: 0 }, 0).allowed).toBe(true);
    limiter.close();
  });
});

describe("the Redis limiter", () => {
  // Two "instances": separate connections, one Redis, one prefix.
  const links = linksToTestRedis(2);
  const limiters: RateLimiter[] = [];
  beforeAll(() => {
    limiters.push(...links.map((link) => new RedisRateLimiter(link, "open", silentRedisErrors())));
  });
  afterAll(() => {
    for (const limiter of limiters) limiter.close();
  });

  it("holds one limit across instances, even under concurrent calls", async () => {
    const limits = { requestsPerMinute: 25, tokensPerMinute: 0 };
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => limiters[i % 2]!.acquire("shared", limits, 0)));
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
    const refused = results.find((r) => !r.allowed);
    expect(refused).toMatchObject({ allowed: false, limit: "requests" });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(60_000 / 25);
  });

  it("reconciles tokens across instances", async () => {
    const limits = { requestsPerMinute: 0, tokensPerMinute: 1000 };
    expect((await limiters[0]!.acquire("tokens", limits, 900)).allowed).toBe(true);
    expect((await limiters[1]!.acquire("tokens", limits, 200)).allowed).toBe(false);
    await limiters[0]!.adjustTokens("tokens", limits, 50 - 900);
    expect((await limiters[1]!.acquire("tokens", limits, 200)).allowed).toBe(true);
  });

  it("falls back to a local limit when Redis is unreachable (fail open), or refuses (fail closed)", async () => {
    const down = new RedisLink({ url: "redis://127.0.0.1:1", prefix: redisPrefix(), logger: silentLogger });
    await down.connect();
    const open = new RedisRateLimiter(down, "open", silentRedisErrors());
    const closed = new RedisRateLimiter(down, "closed", silentRedisErrors());
    const limits = { requestsPerMinute: 2, tokensPerMinute: 0 };
    expect((await open.acquire("k", limits, 0)).allowed).toBe(true);
    expect((await open.acquire("k", limits, 0)).allowed).toBe(true);
    expect((await open.acquire("k", limits, 0)).allowed).toBe(false);
    await expect(closed.acquire("k", limits, 0)).rejects.toThrow(/Redis is unreachable/);
    open.close();
    closed.close();
    await down.close();
  });
});
