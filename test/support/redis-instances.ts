// Gateway instances sharing one Redis, as the limit and spend counter tests
// stand them up: each its own connection, all under one prefix.
import { afterAll, beforeAll } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "./require-service.js";
import { redisPrefix } from "./stores.js";

export const silentLogger = createLogger("silent");

/** Where a limiter or counter reports Redis errors: metrics of its own, no log lines. */
export const silentRedisErrors = () => new RedisErrors(new GatewayMetrics({ defaultMetrics: false }).redisErrors, silentLogger);

/**
 * `count` instances' links to the test Redis under a prefix no other test
 * uses, opened before the tests of the describe block that calls this and
 * closed after them: after the `afterAll`s registered after this call (vitest
 * runs them last first), so what a test built on the links is closed first.
 */
export function linksToTestRedis(count: number): RedisLink[] {
  const links: RedisLink[] = [];
  beforeAll(async () => {
    const url = requireService("SWITCHBOARD_TEST_REDIS_URL");
    const prefix = redisPrefix();
    for (let i = 0; i < count; i++) {
      const link = new RedisLink({ url, prefix, logger: silentLogger });
      await link.connect();
      links.push(link);
    }
  });
  afterAll(async () => {
    await Promise.all(links.map((link) => link.close()));
  });
  return links;
}
