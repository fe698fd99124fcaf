// Both cache levels bound what one team's keys hold together, not only what
// each key holds: a team is the tenant (keys-and-usage.md), and a team admin
// can mint keys of its team, each with a writer's share of its own. Without a
// team's bound, a few keys of one team emptied L1 and filled L2 for every
// other team (audit "cache", finding 1). A key without a team is a tenant of
// its own. The test's clock; the Redis level is the test Redis.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { createResponseCache } from "../../src/cache/create-response-cache.js";
import { MemoryCache, type MemoryEntry } from "../../src/cache/memory-cache.js";
import { RedisTier, type PutResult } from "../../src/cache/redis-tier.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { buildCache, DEFAULT_CACHE, type CacheRedisLimits } from "../../src/config/cache-config.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { answer, logger, openai, question } from "./support/cache-instance.js";

const caller = (keyId: string, team?: string): CallContext => ({ principal: { keyId, name: keyId, admin: false, team }, signal: new AbortController().signal, requestId: `r-${keyId}` });
/** Six keys of team t9, each asking within its own writer's share. */
const T9_KEYS = ["a", "b", "c", "d", "e", "f"].map((suffix) => caller(`t9-${suffix}`, "t9"));
const VICTIM = caller("t2-victim", "t2");

describe("a team's share of the cache", () => {
  it("is half of each level unless set, and follows the level's bytes", () => {
    expect(buildCache(undefined).memory.maxTeamShare).toBe(0.5);
    expect(buildCache(undefined).redis.maxTeamBytes).toBe(DEFAULT_CACHE.redis.maxBytes / 2);
    expect(buildCache({ redis: { max_bytes: 6_000 } }).redis.maxTeamBytes).toBe(3_000);
    expect(buildCache({ memory: { max_team_share: 1 }, redis: { max_team_bytes: 1_000 } })).toMatchObject({ memory: { maxTeamShare: 1 }, redis: { maxTeamBytes: 1_000 } });
  });

  it("counts a key without a team as a tenant of its own", () => {
    const policy = new CachePolicy([], DEFAULT_CACHE.defaults);
    const tenant = (who: CallContext) => policy.forCall(question("q"), openai, who.principal);
    expect(tenant(caller("k1", "t9"))).toMatchObject({ writer: "key:k1", tenant: "team:t9" });
    expect(tenant(caller("k2"))).toMatchObject({ writer: "key:k2", tenant: "key:k2" });
    expect(tenant(caller("k3", ""))).toMatchObject({ writer: "key:k3", tenant: "key:k3" });
    // In memory: two keys without a team do not share one tenant's room.
    const memory = new MemoryCache({ maxEntries: 4, maxBytes: 100_000, maxWriterShare: 0.5, maxTeamShare: 0.5, now: () => 0 });
    const entry = (writer: string): MemoryEntry => ({ bytes: new Uint8Array(10), expiresAt: 100, labels: { partition: writer, provider: "openai", model: "gpt-4o-mini" }, writer });
    for (const id of ["x1", "x2", "y1", "y2"]) memory.set(id, entry(`key:${id[0]}`));
    expect(memory.size).toBe(4);
  });

  it("keeps another team's answer in memory while one team's keys ask as much as the whole level holds", async () => {
    const now = 4_000_000;
    // The audit's scaled-down level: eight entries, a key a quarter of them (two), a team half (four).
    const cache = (await createResponseCache({
      config: buildCache({ memory: { max_entries: 8 } }),
      routes: [],
      env: {},
      hasher: new KeyHasher(Buffer.from("a pepper of at least sixteen bytes")),
      redis: undefined,
      redisPrefix: "team-share:",
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger,
      now: () => now,
    }))!;
    const ask = async (who: CallContext, content: string) => {
      const lookup = await cache.lookup(question(content), [openai], who);
      if (lookup.status === "miss") lookup.store(answer(`${who.principal.keyId}: ${content}`));
      lookup.release();
      return lookup.status;
    };
    expect(await ask(VICTIM, "victim question")).toBe("miss");
    // Twelve answers from t9, two per key: each key within its share, the team over its own.
    for (const who of T9_KEYS) for (let i = 0; i < 2; i++) expect(await ask(who, `t9 question ${i}`)).toBe("miss");
    expect(await ask(VICTIM, "victim question")).toBe("hit");
    // t9 keeps its most recent answers, a team's share of them (four), made room for from its own.
    const t9Kept = [];
    for (const who of T9_KEYS) for (let i = 0; i < 2; i++) if ((await ask(who, `t9 question ${i}`)) === "hit") t9Kept.push(who.principal.keyId);
    expect(t9Kept.length).toBeLessThanOrEqual(4);
  });

  describe("in Redis", () => {
    const secret = new CacheSecret(Buffer.from("a cache secret for the team share tests"));
    let link: RedisLink;
    beforeAll(async () => {
      link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
      await link.connect();
    });
    afterAll(() => link?.close());

    /** One instance's cache with no memory level: every answer is Redis's to keep. */
    function instance(limits: CacheRedisLimits) {
      const metrics = new GatewayMetrics({ defaultMetrics: false });
      const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), limits);
      const memory = new MemoryCache({ maxEntries: 0, maxBytes: 0 });
      const cache = new TieredCache({ policy: new CachePolicy([], DEFAULT_CACHE.defaults), secret, memory, redis: tier, metrics, logger, now: () => 6_000_000 });
      const puts = vi.spyOn(tier, "put");
      /** Asks something new as `who`, keeps an answer that does not compress (about 1.3 kB sealed); what became of its Redis write. */
      const ask = async (who: CallContext, content = randomBytes(8).toString("hex")): Promise<PutResult> => {
        const lookup = await cache.lookup(question(content), [openai], who);
        expect(lookup.status).toBe("miss");
        lookup.store(answer(randomBytes(1_200).toString("base64")));
        return (await puts.mock.results.at(-1)!.value) as PutResult;
      };
      return { cache, ask };
    }

    it("keeps another team's answer out of reach of one team's keys: they share half the level", async () => {
      // A level of 12 kB: a key's entries 3 kB (two answers), a team's 6 kB (half the level).
      const limits = buildCache({ redis: { max_bytes: 12_000, max_partition_bytes: 3_000 } }).redis;
      const { ask } = instance(limits);
      const t9: PutResult[] = [];
      for (const who of T9_KEYS) for (let i = 0; i < 2; i++) t9.push(await ask(who));
      // Twelve answers of about 1.3 kB would fill the level: the team keeps its half's worth, the rest is refused.
      const kept = t9.filter((result) => result === "written").length;
      expect(kept).toBeGreaterThan(0);
      expect(kept * 1_200).toBeLessThanOrEqual(6_000);
      expect(t9).toContain("full");
      // Another team's answer is kept, and found by another instance whose memory holds nothing.
      expect(await ask(VICTIM, "victim question")).toBe("written");
      expect((await instance(limits).cache.lookup(question("victim question"), [openai], VICTIM)).status).toBe("hit");
    });
  });
});
