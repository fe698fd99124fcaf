// A Redis Cluster shard whose master and replica are both gone: ioredis waited out a failover (seconds) for every
// command of its slots, on every call, for as long as it was gone; health kept saying Redis was fine, so nothing
// told the operator. Past the first command's wait the shard's commands fail at once, the failure policy decides,
// health names the slots, and all comes back once the shard does.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { startRedisCluster, type RedisCluster } from "../deploy/support/redis-cluster.js";
import { failure } from "../support/failure.js";
import type { TestGateway } from "../support/gateway.js";
import { redisPrefix, tempDir } from "../support/stores.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
const UNSERVED = /^\d+-\d+$/;

describe("a Redis Cluster shard with its master and replica down", () => {
  let cluster: RedisCluster;
  let world: UsageWorld;
  beforeAll(async () => {
    [cluster, world] = await Promise.all([startRedisCluster(), startUsageWorld("sqlite")]);
  });
  afterAll(async () => {
    await world?.close();
    await cluster?.close();
  });

  /** A hash tag whose slot another master serves than `tag`'s. */
  async function tagOnAnotherShard(tag: string): Promise<string> {
    const master = await cluster.masterOf(`{${tag}}`);
    for (let i = 0; ; i++) if ((await cluster.masterOf(`{other-${i}}`)) !== master) return `other-${i}`;
  }

  it("fails the shard's commands at once after the first has waited, says which slots, and serves them again once it is back", async () => {
    const states: { up: boolean; unservedSlots?: string }[] = [];
    const link = new RedisLink({ url: cluster.url, prefix: redisPrefix(), logger: createLogger("silent"), onStateChange: (up, _reason, unservedSlots) => states.push({ up, unservedSlots }) });
    let shard: Awaited<ReturnType<RedisCluster["stopShardOf"]>> | undefined;
    try {
      await link.connect();
      const [down, up] = [link.key("n", "{gone}"), link.key("n", `{${await tagOnAnotherShard("gone")}}`)];
      expect(await link.client.incr(down)).toBe(1);
      shard = await cluster.stopShardOf(down);

      // The first command waits out a failover that never comes (CLUSTER_FAILOVER_WAIT_MS), then fails.
      await expect(link.client.incr(down)).rejects.toThrow();
      expect(states.at(-1)).toEqual({ up: false, unservedSlots: expect.stringMatching(UNSERVED) });
      // The next ones fail without waiting: the link knows the shard is down (they never reach the cluster's retries).
      await expect(link.client.incr(down)).rejects.toThrow(/^Redis Cluster slot \d+ is not served/);
      await expect(link.client.get(down)).rejects.toThrow(/^Redis Cluster slot \d+ is not served/);
      // The other shards' slots are served as before.
      expect(link.isUp).toBe(true);
      expect(await link.client.incr(up)).toBe(1);

      await shard.restart();
      await expect.poll(() => states.at(-1), { timeout: 15_000 }).toEqual({ up: true, unservedSlots: undefined });
      // Restarted without its data.
      expect(await link.client.incr(down)).toBe(1);
    } finally {
      await shard?.restart();
      await link.close();
    }
  }, 90_000);

  it("lets the failure policy decide the shard's keys' calls, and health names the slots until the shard is back", async () => {
    const start = (policy: string) => world.start({ REDIS_URL: cluster.url, REDIS_PREFIX: redisPrefix(), REDIS_FAILURE_POLICY: policy, SWITCHBOARD_DATA_DIR: tempDir() });
    const [closed, open] = [await start("closed"), await start("open")];
    const other = await tagOnAnotherShard("shard-key");
    const keys = async (gw: TestGateway) => {
      const admin = createClient(AdminService, gw.transport("connect"));
      const onShard = await admin.createKey({ keyId: "shard-key", key: { displayName: "on the shard", requestsPerMinute: 3 } });
      const elsewhere = await admin.createKey({ keyId: other, key: { displayName: "elsewhere", requestsPerMinute: 100 } });
      return { onShard: gw.client("connect", onShard.secret), elsewhere: gw.client("connect", elsewhere.secret) };
    };
    const [onClosed, onOpen] = [await keys(closed), await keys(open)];
    const redisHealth = async (gw: TestGateway) => ((await (await fetch(`${gw.url}/healthz`)).json()) as { dependencies: Record<string, string> }).dependencies.redis;
    const redisUp = (gw: TestGateway) => gw.app.metrics.registry.getSingleMetricAsString("switchboard_redis_up");
    const grpcRedis = async (gw: TestGateway) => (await createClient(Health, gw.transport("grpc", null)).check({ service: "redis" })).status;

    await onClosed.onShard.chat(hi);
    await onOpen.onShard.chat(hi);
    expect(await redisHealth(closed)).toBe("ok");
    const shard = await cluster.stopShardOf("{shard-key}");
    try {
      // Fail closed: refused with Unavailable, the first call after waiting out the failover, the next at once.
      for (let i = 0; i < 3; i++) {
        const refused = await failure(onClosed.onShard.chat(hi));
        expect(refused.code).toBe(Code.Unavailable);
        expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("LIMITS_UNAVAILABLE");
      }
      expect(await redisHealth(closed)).toMatch(/^cluster slots \d+-\d+ not served; for keys in them, calls with limits or budgets are refused \(policy: fail closed\)$/);
      expect(await grpcRedis(closed)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect(await redisUp(closed)).toContain("switchboard_redis_up 0");
      expect((await fetch(`${closed.url}/readyz`)).status).toBe(200);
      // A key on a shard that is up keeps its shared limits.
      expect((await onClosed.elsewhere.chat(hi)).model).toBe("gpt-4o-mini");

      // Fail open: this instance counts the key's limit on its own (3 a minute), going on from the shared count it last
      // saw (one taken), not from a fresh allowance.
      for (let i = 0; i < 2; i++) await onOpen.onShard.chat(hi);
      expect((await failure(onOpen.onShard.chat(hi))).code).toBe(Code.ResourceExhausted);
      expect(await redisHealth(open)).toMatch(/^cluster slots \d+-\d+ not served; for keys in them, limits and budgets are counted per instance \(policy: fail open\)$/);
      expect(await grpcRedis(open)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);

      await shard.restart();
      for (const gw of [closed, open]) {
        await expect.poll(() => redisHealth(gw), { timeout: 15_000 }).toBe("ok");
        expect(await grpcRedis(gw)).toBe(HealthCheckResponse_ServingStatus.SERVING);
        expect(await redisUp(gw)).toContain("switchboard_redis_up 1");
      }
      // Shared again (the restarted shard lost its data: the key's minute starts over).
      expect((await onClosed.onShard.chat(hi)).model).toBe("gpt-4o-mini");
    } finally {
      await shard.restart();
    }
  }, 120_000);
});
