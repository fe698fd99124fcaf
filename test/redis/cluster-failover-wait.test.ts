// A command for a cluster slot whose master is lost waits for the failover up to CLUSTER_FAILOVER_WAIT_MS, ended by
// its timeout. It used to end at ioredis's count of redirections, set at one per 100 ms retry, while each retry costs
// two (the lost master's closed connection, then another master's MOVED back to it): about 4 s, not 5, so a failover
// of 4 s on a busy machine fell back to the failure policy (each instance counting limits and budgets alone).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { startRedisCluster, type RedisCluster } from "../deploy/support/redis-cluster.js";
import { redisPrefix } from "../support/stores.js";

describe("a Redis Cluster command whose master is lost", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("waits for the failover until its timeout, not until a count of retries runs out", async () => {
    const link = new RedisLink({ url: cluster.url, prefix: redisPrefix(), logger: createLogger("silent") });
    try {
      await link.connect();
      const key = link.key("n", "{lost}");
      expect(await link.client.incr(key)).toBe(1);
      // No replica takes over: the wait runs its whole length.
      await cluster.stopShardOf(key);
      await expect(link.client.incr(key)).rejects.toThrow(/^Command timed out$/);
    } finally {
      await link.close();
    }
  }, 60_000);
});
