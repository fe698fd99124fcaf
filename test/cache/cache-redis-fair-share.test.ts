// The Redis level's bytes are bounded per writer as well as per partition:
// one gateway key writes into its own partition, its team's and every shared
// route's, and must not fill the whole level through them (hostile audit 4,
// finding 4). A purge, or an entry written over, gives its bytes back. The
// cache runs on the test's clock, against the test Redis.
import { randomBytes } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
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

const secret = new CacheSecret(Buffer.from("a cache secret for the fair share tests"));

/** The docs' routes: a key's own (gpt-4o-mini, share: key), a team's, and two shared by every caller. */
const shared = (share: "team" | "route") => ({ ...DEFAULT_CACHE.defaults, share });
const ROUTES = [
  { model: "team-bot", provider: "openai", upstreamModel: "gpt-4o-mini", cache: shared("team") },
  { model: "public-bot", provider: "openai", upstreamModel: "gpt-4o-mini", cache: shared("route") },
  { model: "hr-bot", provider: "openai", upstreamModel: "gpt-4o-mini", cache: shared("route") },
];

/** An answer that does not compress: about 1.2 kB sealed. */
const bulky = () => answer(randomBytes(1_200).toString("base64"));

const caller = (keyId: string, team: string): CallContext => ({ principal: { keyId, name: keyId, admin: false, team }, signal: new AbortController().signal, requestId: `r-${keyId}` });

describe("the Redis level's bytes, per writer", () => {
  const links: RedisLink[] = [];
  const now = { ms: 9_000_000 };
  let link: RedisLink;
  // Each test has a Redis level of its own (a prefix of its own): the bounds are the level's.
  beforeEach(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    links.push(link);
    await link.connect();
  });
  afterAll(() => Promise.all(links.map((each) => each.close())));

  /** One instance's cache on this test's Redis level; the writes it sends to Redis are in `writes`. */
  function instance(limits: CacheRedisLimits) {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), limits);
    const memory = new MemoryCache({ maxEntries: 10_000, maxBytes: 100_000_000, now: () => now.ms });
    const cache = new TieredCache({ policy: new CachePolicy(ROUTES, DEFAULT_CACHE.defaults), secret, memory, redis: tier, metrics, logger, now: () => now.ms });
    const puts = vi.spyOn(tier, "put");
    /** What became of every write so far. */
    const writes = () => Promise.all(puts.mock.results.map((result) => result.value as Promise<PutResult>));
    /** Asks `model` something new as `who`: a miss whose answer is kept. What became of its Redis write. */
    const ask = async (who: CallContext, model: string, content = randomBytes(8).toString("hex")): Promise<PutResult> => {
      const lookup = await cache.lookup(question(content, { model }), [openai], who);
      expect(lookup.status).toBe("miss");
      lookup.store(bulky());
      return (await writes()).at(-1)!;
    };
    return { tier, cache, ask, writes };
  }

  /** The audit's bounds scaled down: a partition 6 kB, the level three of them; the writer's bound left to its default (the partition's). */
  const limits = () => buildCache({ redis: { max_bytes: 18_000, max_partition_bytes: 6_000 } }).redis;

  it("defaults a writer's bound to the partition's", () => {
    expect(limits().maxWriterBytes).toBe(6_000);
    expect(buildCache(undefined).redis.maxWriterBytes).toBe(DEFAULT_CACHE.redis.maxPartitionBytes);
    expect(buildCache({ redis: { max_writer_bytes: 1_000 } }).redis).toMatchObject({ maxWriterBytes: 1_000, maxPartitionBytes: DEFAULT_CACHE.redis.maxPartitionBytes });
  });

  it("does not let one key filling its own, its team's and the shared routes' partitions keep another key's answer out of Redis", async () => {
    const alice = caller("alice", "red");
    const bob = caller("bob", "blue");
    const { ask } = instance(limits());
    const alices: PutResult[] = [];
    for (let round = 0; round < 12; round++) for (const model of ["gpt-4o-mini", "team-bot", "public-bot", "hr-bot"]) alices.push(await ask(alice, model));
    // Bob's new answer is kept in Redis: another instance, its memory empty, finds it there.
    expect(await ask(bob, "gpt-4o-mini", "bob's question")).toBe("written");
    const other = instance(limits());
    expect((await other.cache.lookup(question("bob's question"), [openai], bob)).status).toBe("hit");
    // Alice is held to her own share of the level: about a partition's worth across all four.
    const kept = alices.filter((result) => result === "written").length;
    expect(kept).toBeGreaterThan(0);
    expect(kept * 1_200).toBeLessThan(6_000);
  });

  // Holds on the old code too: it keeps a fix from charging a writer for what a partition refused.
  it("does not let a full shared partition starve a key's own", async () => {
    const [carol, dave, erin] = [caller("carol", "green"), caller("dave", "green"), caller("erin", "green")];
    const { ask } = instance(limits());
    // Three keys fill the public route's partition between them.
    for (const who of [carol, dave, erin]) for (let i = 0; i < 2; i++) await ask(who, "public-bot");
    expect(await ask(erin, "public-bot")).toBe("full");
    // Refused there, the write counted nothing: erin's own answers are still kept.
    expect(await ask(erin, "gpt-4o-mini")).toBe("written");
    expect(await ask(erin, "gpt-4o-mini")).toBe("written");
  });

  it("gives a purged entry's bytes back to its partition, its writer and the level", async () => {
    const frank = caller("frank", "violet");
    const { ask, cache } = instance(limits());
    const results: PutResult[] = [];
    for (let i = 0; i < 6; i++) results.push(await ask(frank, "hr-bot"));
    expect(results.at(-1)).toBe("full");
    // The clock is never moved: only the purge can make the room.
    expect(await cache.purge({ partition: "route:openai:hr-bot" })).toBeGreaterThan(0);
    expect(await ask(frank, "hr-bot")).toBe("written");
    // Frank's writer bound was full too (hr-bot was all he wrote): his own partition has room again.
    expect(await ask(frank, "gpt-4o-mini")).toBe("written");
  });

  it("gives back the bytes of an entry written over, and of one not written because an entry was kept", async () => {
    const { tier } = instance({ maxEntryBytes: 1024 * 1024, maxBytes: 9_000, maxPartitionBytes: 6_000, maxWriterBytes: 6_000 });
    const life = { now: now.ms, ttlMs: 60_000 };
    const key = { id: randomBytes(8).toString("hex"), partition: "key:grace", provider: "openai", model: "gpt-4o-mini" };
    // About 1.9 kB each: without the bytes given back, the fourth would be refused.
    for (let i = 0; i < 6; i++) expect(await tier.put(key, randomBytes(1_800), life)).toBe("written");
    for (let i = 0; i < 6; i++) expect(await tier.put(key, randomBytes(1_800), life, { onlyIfAbsent: true })).toBe("kept");
    const another = () => tier.put({ ...key, id: randomBytes(8).toString("hex") }, randomBytes(1_800), life);
    expect([await another(), await another(), await another()]).toEqual(["written", "written", "full"]);
  });
});
