// A refresh (`no-cache`) in a shared partition keeps its answer only where
// none is kept: checked, then written. Between the look and the write another
// instance may write its own answer to Redis; the write is conditional in the
// same step as it is made (SET NX), so that answer stays. Time is the cache's
// clock, held by the test.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import type { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { answer, cacheInstance, ctx, logger, now, openai, question } from "./support/cache-instance.js";

describe("a refresh of a shared partition, with Redis", () => {
  let link: RedisLink;
  beforeAll(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    await link.connect();
  });
  afterAll(() => link?.close());

  const instance = () => cacheInstance(link);
  const sharedKeptCount = async (metrics: GatewayMetrics) => (await metrics.cacheNotStored.get()).values.find((v) => v.labels.reason === "shared_entry_kept")?.value ?? 0;

  it("keeps an answer another instance wrote between the refresh's look and its write", async () => {
    const refresher = instance();
    const other = instance();
    const content = `asked on two instances ${randomBytes(4).toString("hex")}`;
    // The refresh looks in Redis and finds nothing; just then the other instance keeps its answer there.
    const realGet = refresher.tier.get.bind(refresher.tier);
    vi.spyOn(refresher.tier, "get").mockImplementationOnce(async (key) => {
      const looked = await realGet(key);
      const miss = await other.cache.lookup(question(content), [openai], ctx("other-caller"));
      expect(miss.status).toBe("miss");
      miss.store(answer("the other instance's answer"));
      await expect.poll(() => realGet(key)).toBeDefined();
      return looked;
    });
    const put = vi.spyOn(refresher.tier, "put");
    const refresh = await refresher.cache.lookup(question(content, { cacheControl: CacheControl.NO_CACHE }), [openai], ctx("refresher"));
    refresh.store(answer("the refresher's answer"));
    await expect.poll(() => put.mock.calls.length).toBe(1);
    const written = await put.mock.results[0]!.value;
    // Every instance, the refresher too (its memory was not filled with its own answer), is served the other's.
    for (const { cache } of [refresher, instance()]) {
      const hit = await cache.lookup(question(content), [openai], ctx("anyone"));
      expect([hit.status, hit.answer?.message.content]).toEqual(["hit", "the other instance's answer"]);
    }
    expect(written).toBe("kept");
    expect(await sharedKeptCount(refresher.metrics)).toBe(1);
  });

  it("fills an empty partition, and frees a lock in the same step whether it writes or keeps", async () => {
    const { tier, cache } = instance();
    const content = `asked once ${randomBytes(4).toString("hex")}`;
    const refresh = await cache.lookup(question(content, { cacheControl: CacheControl.NO_CACHE }), [openai], ctx("refresher"));
    const put = vi.spyOn(tier, "put");
    refresh.store(answer("the first answer"));
    await expect.poll(() => put.mock.calls.length).toBe(1);
    expect(await put.mock.results[0]!.value).toBe("written");
    const hit = await instance().cache.lookup(question(content), [openai], ctx("anyone"));
    expect(hit.answer?.message.content).toBe("the first answer");

    // The tier itself: "only if absent" keeps what is there, and frees the lock all the same.
    const key = { id: randomBytes(8).toString("hex"), partition: "route:openai/gpt-4o-mini", provider: "openai", model: "gpt-4o-mini" };
    const life = { now: now(), ttlMs: 60_000 };
    expect(await tier.put(key, Buffer.from("first"), life, { onlyIfAbsent: true })).toBe("written");
    const lock = await tier.lock(key, 60_000);
    expect(lock.kind).toBe("taken");
    expect(await tier.put(key, Buffer.from("second"), life, { onlyIfAbsent: true, token: (lock as { token: string }).token })).toBe("kept");
    expect((await tier.get(key))?.toString()).toBe("first");
    expect(await tier.poll(key)).toMatchObject({ locked: false });
    // Without the flag, a write replaces (a miss, or a key's own refresh).
    expect(await tier.put(key, Buffer.from("third"), life)).toBe("written");
    expect((await tier.get(key))?.toString()).toBe("third");
  });
});
