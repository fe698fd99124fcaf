import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

describe("a Redis link", () => {
  it("starts its connection again once ioredis has given it up for good", async () => {
    const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger: createLogger("silent") });
    try {
      await link.connect();
      expect(await link.client.incr(link.key("n"))).toBe(1);
      // What ioredis does when a reconnection fails with an error rather than a closed socket (a Sentinel announcing
      // a failover while the reconnection asks it for the master; test/deploy/sentinel.test.ts): status "end", no retry.
      const ended = new Promise((resolve) => link.client.once("end", resolve));
      (link.client as Redis).disconnect();
      await ended;
      await expect.poll(() => link.isUp, { timeout: 10_000, interval: 50 }).toBe(true);
      expect(await link.client.incr(link.key("n"))).toBe(2);
    } finally {
      await link.close();
    }
  });

  it("leaves its connection ended once closed", async () => {
    const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger: createLogger("silent") });
    await link.connect();
    // The connection ends when its socket closes, after QUIT is answered (not when close() returns): waited for, then
    // past the delay after which a link not closed starts its connection again (RESTART_AFTER_END_MS, 200 ms).
    const ended = new Promise((resolve) => link.client.once("end", resolve));
    await link.close();
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(link.client.status).toBe("end");
  });
});
