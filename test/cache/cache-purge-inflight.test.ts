// A purge removes every answer kept before it, wherever a call could bring it
// back from: an answer still on its way to Redis (the write runs after the
// call is answered), an entry a call reads back from Redis into memory while
// the purge scans, and the memory of other instances, with or without L2 in
// Redis, and after a subscription that may have missed purges.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { createResponseCache } from "../../src/cache/create-response-cache.js";
import { DEFAULT_CACHE } from "../../src/config/cache-config.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { answer, cacheInstance, ctx, logger, openai, question } from "./support/cache-instance.js";

let link: RedisLink;
beforeAll(async () => {
  link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
  await link.connect();
});
afterAll(() => link?.close());

const fresh = (what: string) => `${what} ${randomBytes(4).toString("hex")}`;

describe("a purge racing this instance's calls", () => {
  it("waits for an answer's Redis write in flight, then removes it from memory and Redis alike", async () => {
    const { tier, cache } = cacheInstance(link);
    const content = fresh("answered just before a purge");
    // The answer's Redis write is held until the test lets it go.
    let letWriteGo!: () => void;
    const held = new Promise<void>((resolve) => (letWriteGo = resolve));
    const realPut = tier.put.bind(tier);
    const put = vi.spyOn(tier, "put").mockImplementationOnce(async (...args) => {
      await held;
      return realPut(...args);
    });
    const miss = await cache.lookup(question(content), [openai], ctx("caller"));
    expect(miss.status).toBe("miss");
    miss.store(answer("kept before the purge"));
    expect(put).toHaveBeenCalledTimes(1);

    let purgeDone = false;
    const purge = cache.purge({ model: "gpt-4o-mini" }).finally(() => (purgeDone = true));
    // The purge waits on the write in flight...
    await new Promise((resolve) => setImmediate(resolve));
    expect(purgeDone).toBe(false);
    letWriteGo();
    // ...then finds the answer in memory and in Redis.
    expect(await purge).toBeGreaterThanOrEqual(2);
    expect(await put.mock.results[0]!.value).toBe("written");
    for (const instance of [cache, cacheInstance(link).cache]) {
      expect((await instance.lookup(question(content), [openai], ctx("caller"))).status).toBe("miss");
    }
  });

  it("leaves no entry that a call read back from Redis while the purge scanned", async () => {
    const { tier, cache } = cacheInstance(link);
    const content = fresh("read back during the scan");
    const writer = cacheInstance(link);
    (await writer.cache.lookup(question(content), [openai], ctx("writer"))).store(answer("kept in Redis"));
    await expect.poll(async () => (await cacheInstance(link).cache.lookup(question(content), [openai], ctx("writer"))).status).toBe("hit");

    // A call on this instance reads the entry from Redis into its memory while the purge is under way in Redis.
    const realPurge = tier.purge.bind(tier);
    vi.spyOn(tier, "purge").mockImplementationOnce(async (filter) => {
      expect((await cache.lookup(question(content), [openai], ctx("reader"))).status).toBe("hit");
      return realPurge(filter);
    });
    await cache.purge({ model: "gpt-4o-mini" });
    expect((await cache.lookup(question(content), [openai], ctx("reader"))).status).toBe("miss");
  });
});

describe("a purge and the other instances' memory", () => {
  /** One instance's cache as the gateway builds it, L2 in Redis or not, on the shared link. */
  const instance = (l2: boolean, redis = link) =>
    createResponseCache({
      config: { ...DEFAULT_CACHE, redis: { ...DEFAULT_CACHE.redis, enabled: l2 }, defaults: { ...DEFAULT_CACHE.defaults, share: "route" } },
      routes: [],
      env: {},
      hasher: new KeyHasher(Buffer.from("a pepper of at least sixteen bytes")),
      redis,
      redisPrefix: "unused:",
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger,
    }).then((cache) => cache!);
  const remember = async (cache: Awaited<ReturnType<typeof instance>>, content: string) => {
    (await cache.lookup(question(content), [openai], ctx("caller"))).store(answer("kept in memory"));
    expect((await cache.lookup(question(content), [openai], ctx("caller"))).status).toBe("hit");
  };

  it("reaches them over Redis when the cache keeps nothing there (cache.redis.enabled: false)", async () => {
    const [a, b] = await Promise.all([instance(false), instance(false)]);
    const content = fresh("kept in b's memory only");
    await remember(b, content);
    await a.purge({ model: "gpt-4o-mini" });
    await expect.poll(async () => (await b.lookup(question(content), [openai], ctx("caller"))).status).toBe("miss");
  });

  it("is assumed missed while an instance's subscription was down: it empties its memory when it subscribes again", async () => {
    // b on a link of its own, so that only its subscriber connection is dropped (other test files share this Redis).
    const pubsubIds = async () => new Set([...String(await link.client.call("CLIENT", "LIST", "TYPE", "pubsub")).matchAll(/^id=(\d+)/gm)].map((m) => m[1]!));
    const before = await pubsubIds();
    const own = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: link.prefix, logger });
    await own.connect();
    try {
      const b = await instance(false, own);
      const content = fresh("kept while the subscription drops");
      await remember(b, content);
      const ids = [...(await pubsubIds())].filter((id) => !before.has(id));
      expect(ids.length).toBeGreaterThanOrEqual(1);
      for (const id of ids) await link.client.call("CLIENT", "KILL", "ID", id);
      // b's subscriber comes back on its own, and has forgotten what it kept.
      await expect.poll(async () => (await b.lookup(question(content), [openai], ctx("caller"))).status, { timeout: 10_000 }).toBe("miss");
    } finally {
      await own.close();
    }
  });
});
