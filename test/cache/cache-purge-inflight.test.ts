// A purge removes every answer kept before it, the ones still on their way
// to Redis too: an answer's Redis write runs after the call is answered, so
// a purge asked right after the call could otherwise scan Redis before the
// write lands, and the answer would outlive the purge.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { answer, cacheInstance, ctx, logger, openai, question } from "./support/cache-instance.js";

describe("a purge while an answer is being kept in Redis", () => {
  let link: RedisLink;
  beforeAll(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    await link.connect();
  });
  afterAll(() => link?.close());

  it("waits for the write, then removes the answer from memory and Redis alike", async () => {
    const { tier, cache } = cacheInstance(link);
    const content = `answered just before a purge ${randomBytes(4).toString("hex")}`;
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
});
