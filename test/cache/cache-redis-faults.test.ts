// The cache's Redis level when Redis is slow, and its bound on what it keeps
// there. A redis-server of this file's own is paused (SIGSTOP) so that
// commands time out while Redis still runs them once resumed, as after a
// fork, a failover or a slow command. Time is the cache's clock, moved by the
// tests: no assertion reads the wall clock.
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer } from "../../src/cache/coalescer.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
import { RedisTier } from "../../src/cache/redis-tier.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE } from "../../src/config/cache-config.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { startRedis, type RunningService } from "../support/services.js";
import { redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const secret = new CacheSecret(Buffer.from("a cache secret for the fault tests"));
const openai = { provider: "openai", upstreamModel: "gpt-4o-mini" };
const LIMITS = { maxEntryBytes: 1024 * 1024, maxBytes: 64 * 1024 * 1024, maxPartitionBytes: 64 * 1024 * 1024, maxWriterBytes: 64 * 1024 * 1024 };

async function errorCount(metrics: GatewayMetrics, operation: string): Promise<number> {
  return (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

describe("the response cache when Redis is slow", () => {
  let redis: RunningService;
  let admin: Redis;
  let link: RedisLink;
  let pid: number;
  const prefix = redisPrefix();
  /** SIGSTOP: Redis takes commands into its socket and answers none, then runs them on resume(). */
  const pause = () => process.kill(pid, "SIGSTOP");
  const resume = () => process.kill(pid, "SIGCONT");
  beforeAll(async () => {
    redis = await startRedis();
    const url = redis.env.SWITCHBOARD_TEST_REDIS_URL!;
    admin = new Redis(url);
    pid = Number(/process_id:(\d+)/.exec(await admin.info("server"))![1]);
    // A longer command timeout than the gateway's: the test has time to let Redis go on before the next command gives up.
    link = new RedisLink({ url, prefix, logger, commandTimeoutMs: 2_000 });
    await link.connect();
  });
  afterAll(async () => {
    if (pid) resume();
    admin?.disconnect();
    await link?.close();
    await redis?.stop();
  });

  function world(now: { ms: number }) {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), LIMITS);
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 2_000, remote: tier, now: () => now.ms });
    const memory = new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now: () => now.ms });
    const cache = new TieredCache({ policy: new CachePolicy([], DEFAULT_CACHE.defaults), secret, memory, redis: tier, coalescer, metrics, logger, now: () => now.ms });
    const polls = vi.spyOn(tier, "poll");
    return { metrics, tier, coalescer, cache, polls };
  }

  const ctx = (): CallContext => ({ principal: { keyId: "slow-redis", name: "slow", admin: false }, signal: new AbortController().signal, requestId: "r-1" });
  const question = (content: string) => create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content }], temperature: 0 });
  const locks = () => admin.keys(`${prefix}cache:lock:*`);

  it("leads at once when taking the lock times out, and frees the lock Redis took for it later", async () => {
    const now = { ms: 1_000_000 };
    const { metrics, cache, polls } = world(now);
    pause();
    let settled = false;
    const lookup = cache.lookup(question("asked while Redis stalls"), [openai], ctx()).finally(() => (settled = true));
    // The claim (the L2 read and the lock, one script) times out; Redis then wakes up and runs it, taking the lock.
    await expect.poll(() => errorCount(metrics, "cache_claim"), { timeout: 15_000, interval: 20 }).toBe(1);
    resume();
    // Served (the vendor will be called) with the clock never moved: no wait on its own lock, and not one poll.
    await expect.poll(() => settled, { timeout: 10_000 }).toBe(true);
    const miss = await lookup;
    expect(miss.status).toBe("miss");
    expect(polls).not.toHaveBeenCalled();
    // The lock Redis took after the timeout is this call's: the call's end deletes it (compare-and-delete on its token).
    await expect.poll(() => locks().then((keys) => keys.length), { timeout: 5_000 }).toBe(1);
    miss.release();
    await expect.poll(() => locks().then((keys) => keys.length), { timeout: 5_000 }).toBe(0);
  }, 40_000);

  it("waits for another instance's lock no longer than the remote bound, far below wait_ms", async () => {
    const now = { ms: 2_000_000 };
    const { coalescer, polls } = world(now);
    const key = { id: randomBytes(8).toString("hex"), partition: "key:a", provider: "openai", model: "gpt-4o-mini" };
    // An orphan: a lock whose owner will never write nor free it.
    await admin.set(`${prefix}cache:lock:{${key.id}}`, "someone else", "PX", 60_000);
    let settled = false;
    const joined = coalescer.join(key, { signal: new AbortController().signal }, () => undefined).finally(() => (settled = true));
    await expect.poll(() => polls.mock.calls.length, { timeout: 5_000 }).toBeGreaterThan(0);
    now.ms += 2_001;
    await expect.poll(() => settled, { timeout: 5_000 }).toBe(true);
    expect(await joined).toMatchObject({ kind: "lead" });
    expect(((await joined) as { lead: { token?: string } }).lead.token).toBeUndefined();
  });
});

describe("the bound on the Redis level's bytes", () => {
  let link: RedisLink;
  beforeAll(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    await link.connect();
  });
  afterAll(() => link?.close());

  it("refuses entries past the partition's and the whole level's bytes, and takes them again once those expired", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), { maxEntryBytes: 1024 * 1024, maxBytes: 9_000, maxPartitionBytes: 6_000, maxWriterBytes: 9_000 });
    let now = 5_000_000;
    const put = (partition: string) =>
      tier.put({ id: randomBytes(8).toString("hex"), partition, provider: "openai", model: "gpt-4o-mini" }, randomBytes(1_800), { now, ttlMs: 60_000 });
    // About 1.9 kB each with its key: three fit in a partition's 6 kB, a fourth does not.
    expect([await put("key:a"), await put("key:a"), await put("key:a"), await put("key:a")]).toEqual(["written", "written", "written", "full"]);
    // Another partition has room of its own, up to the level's 9 kB.
    expect([await put("key:b"), await put("key:b")]).toEqual(["written", "full"]);
    // Once those entries have expired, their bytes are free again.
    now += 60_000 + 60_000 / 16;
    expect([await put("key:a"), await put("key:b")]).toEqual(["written", "written"]);
  });
});
