// The shared spend counter when Redis stalls, fails, or an instance dies:
// a settlement applies once however often it is sent, an admission the
// gateway gave up on reserves nothing for long, a dead instance's
// reservations lapse, and spend counted in a process during an outage reaches
// the shared counter. Real Redis servers throughout; time for leases is the
// counters' clock, moved on by the tests.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, type BudgetAsk } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { LEASE_MS, SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { ownRedis, type OwnRedis } from "../support/own-redis.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const UNIT = 1e9;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock the counters read for leases; tests move it on. */
const clock = { now: Date.now() };
const period = currentPeriod("month", clock.now);

function ask(keyId: string, reserveUnits: number, limitUnits = 100): BudgetAsk {
  const budget: KeyBudget = { limitNanos: limitUnits * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };
  return { keyId, budget, period, reserveNormal: reserveUnits * UNIT, reserveEconomy: undefined };
}

interface Instance {
  link: RedisLink;
  counter: RedisSpendCounter;
  metrics: GatewayMetrics;
}

const instances: Instance[] = [];

async function instance(url: string, prefix: string, policy: "open" | "closed", options: { maxPending?: number; seed?: number } = {}): Promise<Instance> {
  const link = new RedisLink({ url, prefix, logger });
  await link.connect();
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const counter = new RedisSpendCounter(link, async () => (options.seed ?? 0) * UNIT, policy, new RedisErrors(metrics.redisErrors, logger), {
    now: () => clock.now,
    maxPending: options.maxPending,
  });
  const made = { link, counter, metrics };
  instances.push(made);
  return made;
}

async function errorCount(metrics: GatewayMetrics, operation: string): Promise<number> {
  return (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

/** The shared counter as Redis has it: settled spend and live reservations, in units. */
async function shared(link: RedisLink, keyId: string): Promise<{ settled: number; reserved: number } | undefined> {
  const read = await new SpendScripts(link).read(spendKeys(link, keyId, period.startMs, ""), clock.now);
  return read && { settled: read.settled / UNIT, reserved: read.reserved / UNIT };
}

async function closeInstances(): Promise<void> {
  for (const { counter, link } of instances.splice(0)) {
    counter.close();
    await link.close().catch(() => {});
  }
}

describe("the shared spend counter's scripts", () => {
  let link: RedisLink;
  let scripts: SpendScripts;
  beforeAll(async () => {
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
    await link.connect();
    scripts = new SpendScripts(link);
  });
  afterAll(() => link.close());

  const admitArgs = (callId: string, reserveUnits: number) => ({
    now: clock.now,
    limit: 100 * UNIT,
    soft: 90 * UNIT,
    normal: reserveUnits * UNIT,
    economy: -1,
    economyOnly: false,
    callId,
    leaseMs: LEASE_MS,
    keepMs: 3_600_000,
  });
  const seeded = async (keyId: string, units = 0) => {
    await link.client.set(spendKeys(link, keyId, period.startMs, "").spent, String(units * UNIT));
  };

  it("answers -1 (rebuild from the ledger) for a missing counter, reserving nothing", async () => {
    const keys = spendKeys(link, "missing", period.startMs, "call-1");
    expect(await scripts.admit(keys, admitArgs("call-1", 10))).toBeUndefined();
    expect(await link.client.exists(keys.reservations, keys.leases)).toBe(0);
  });

  it("applies a settlement once, however many times it is sent", async () => {
    await seeded("twice", 5);
    const keys = spendKeys(link, "twice", period.startMs, "call-1");
    expect(await scripts.admit(keys, admitArgs("call-1", 30))).toEqual({ decision: 0, spent: 5 * UNIT, reserved: 30 * UNIT });
    expect(await shared(link, "twice")).toEqual({ settled: 5, reserved: 30 });
    expect(await scripts.settle(keys, "call-1", 12 * UNIT)).toBe("applied");
    // Re-sent after a timeout, or the original run late: nothing changes.
    expect(await scripts.settle(keys, "call-1", 12 * UNIT)).toBe("settled_already");
    expect(await scripts.settle(keys, "call-1", 12 * UNIT)).toBe("settled_already");
    expect(await shared(link, "twice")).toEqual({ settled: 17, reserved: 0 });
    // The marker expires in a day; the counter keeps its TTL rules.
    const markerTtl = await link.client.pttl(keys.marker);
    expect(markerTtl).toBeGreaterThan(23 * 3_600_000);
    expect(await link.client.pttl(keys.reservations)).toBeGreaterThan(0);
  });

  it("leaves nothing reserved when a release comes before the admission it gives up on runs", async () => {
    await seeded("late-admit");
    const keys = spendKeys(link, "late-admit", period.startMs, "ghost");
    await scripts.release(keys, "ghost");
    expect(await scripts.admit(keys, admitArgs("ghost", 90))).toEqual({ decision: 0, spent: 0, reserved: 0 });
    expect(await shared(link, "late-admit")).toEqual({ settled: 0, reserved: 0 });
    // A release after the admission drops its reservation too, once.
    const other = spendKeys(link, "late-admit", period.startMs, "admitted");
    await scripts.admit(other, admitArgs("admitted", 40));
    await scripts.release(other, "admitted");
    await scripts.release(other, "admitted");
    expect(await shared(link, "late-admit")).toEqual({ settled: 0, reserved: 0 });
  });

  it("lets a reservation lapse with its lease, and still lands the call's cost once when it settles late", async () => {
    await seeded("lapsed");
    const keys = spendKeys(link, "lapsed", period.startMs, "long-call");
    await scripts.admit(keys, admitArgs("long-call", 100));
    const blocked = await scripts.admit(spendKeys(link, "lapsed", period.startMs, "b"), admitArgs("b", 1));
    expect(blocked).toMatchObject({ decision: 2, spent: 100 * UNIT, reserved: 0 });
    // Past the lease, the reservation no longer counts.
    const later = { ...admitArgs("c", 1), now: clock.now + LEASE_MS + 1 };
    expect(await scripts.admit(spendKeys(link, "lapsed", period.startMs, "c"), later)).toEqual({ decision: 0, spent: 0, reserved: UNIT });
    expect(await link.client.hexists(keys.reservations, "long-call")).toBe(0);
    // The long call ends: its cost lands once, though its reservation is gone.
    expect(await scripts.settle(keys, "long-call", 70 * UNIT)).toBe("applied");
    expect(await scripts.settle(keys, "long-call", 70 * UNIT)).toBe("settled_already");
    expect((await scripts.read(keys, later.now))!).toEqual({ settled: 70 * UNIT, reserved: UNIT });
  });
});

describe("the Redis spend counter on a shared Redis", () => {
  let url: string;
  beforeAll(() => {
    url = requireService("SWITCHBOARD_TEST_REDIS_URL");
  });
  afterEach(async () => {
    clock.now = Date.now();
    await closeInstances();
  });

  it("never lets concurrent admissions on two instances overshoot by more than one call", async () => {
    const prefix = redisPrefix();
    const [a, b] = [await instance(url, prefix, "closed"), await instance(url, prefix, "closed")];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a! : b!).counter.admit(ask("burst", 30))));
    const admitted = answers.filter((answer) => answer.decision !== "refused");
    // 0, 30, 60 and 90 are under 100: four calls start, the fifth sees 120.
    expect(admitted).toHaveLength(4);
    await Promise.all(admitted.map((answer) => answer.settle(30 * UNIT)));
    expect(await shared(a!.link, "burst")).toEqual({ settled: 120, reserved: 0 });
    expect(await a!.counter.spent("burst", period)).toBe(120 * UNIT);
    expect(120).toBeLessThanOrEqual(100 + 30);
  });

  it("frees a dead instance's reservations when their lease ends", async () => {
    const prefix = redisPrefix();
    const dying = await instance(url, prefix, "closed");
    const survivor = await instance(url, prefix, "closed");
    // The dying instance admits a call that holds the whole budget, then is killed: nothing will settle it.
    expect((await dying.counter.admit(ask("orphaned", 100))).reservedNanos).toBe(100 * UNIT);
    dying.link.client.disconnect();
    expect((await survivor.counter.admit(ask("orphaned", 10))).decision).toBe("refused");
    expect(await survivor.counter.spent("orphaned", period)).toBe(100 * UNIT);
    clock.now += LEASE_MS + 1;
    const answer = await survivor.counter.admit(ask("orphaned", 10));
    expect(answer).toMatchObject({ decision: "normal", spentNanos: 0, reservedNanos: 10 * UNIT });
    await answer.settle(4 * UNIT);
    expect(await survivor.counter.spent("orphaned", period)).toBe(4 * UNIT);
  });

  it("rebuilds a missing counter from the ledger before admitting", async () => {
    const { counter, link } = await instance(url, redisPrefix(), "closed", { seed: 95 });
    expect(await counter.spent("ledgered", period)).toBe(95 * UNIT);
    const answer = await counter.admit(ask("ledgered", 10));
    expect(answer).toMatchObject({ decision: "normal", spentNanos: 95 * UNIT, reservedNanos: 10 * UNIT });
    expect((await counter.admit(ask("ledgered", 10))).decision).toBe("refused");
    await answer.settle(2 * UNIT);
    expect(await shared(link, "ledgered")).toEqual({ settled: 97, reserved: 0 });
    const ttl = await link.client.pttl(spendKeys(link, "ledgered", period.startMs, "").spent);
    expect(ttl).toBeGreaterThan(period.endMs - Date.now() + 6 * 24 * 3_600_000);
  });

  it("keeps at most maxPending settlements while Redis is unreachable, dropping the oldest and counting it", async () => {
    const { counter, metrics } = await instance("redis://127.0.0.1:1", redisPrefix(), "open", { maxPending: 3 });
    for (let i = 0; i < 5; i++) {
      const answer = await counter.admit(ask("unreachable", 1));
      expect(answer.decision).toBe("normal");
      await answer.settle(UNIT);
    }
    expect(counter.pendingCount).toBe(3);
    expect(await errorCount(metrics, "budget_pending_dropped")).toBe(2);
    expect(await errorCount(metrics, "budget_settle")).toBe(5);
  });
});

describe("the Redis spend counter when its Redis stalls or goes away", () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await ownRedis({ keepData: true });
  });
  afterAll(async () => {
    await closeInstances();
    await redis?.remove();
  });
  afterEach(async () => {
    redis.resume();
    clock.now = Date.now();
    await closeInstances();
  });

  it("applies a settlement once when Redis stalls past the command timeout and runs it late", async () => {
    const { counter, link, metrics } = await instance(redis.url, redisPrefix(), "open");
    const answer = await counter.admit(ask("stalled-settle", 30));
    expect(answer.reservedNanos).toBe(30 * UNIT);
    redis.pause();
    const started = Date.now();
    await answer.settle(20 * UNIT); // times out after 500 ms: kept, to be sent again
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(counter.pendingCount).toBe(1);
    expect(await errorCount(metrics, "budget_settle")).toBe(1);
    await sleep(600);
    redis.resume(); // Redis runs the original now; the kept one is sent again by the retry
    await expect.poll(() => counter.pendingCount, { timeout: 5_000 }).toBe(0);
    expect(await shared(link, "stalled-settle")).toEqual({ settled: 20, reserved: 0 });
    // And once more, for good measure, through the next admission's flush.
    expect((await counter.admit(ask("stalled-settle", 0))).spentNanos).toBe(20 * UNIT);
    expect(await counter.spent("stalled-settle", period)).toBe(20 * UNIT);
  });

  it("releases an admission that timed out (policy closed), so Redis running it late reserves nothing", async () => {
    const { counter, link } = await instance(redis.url, redisPrefix(), "closed");
    await counter.admit(ask("stalled-admit", 0)).then((a) => a.settle(32 * UNIT)); // $32 spent: $68 left
    redis.pause();
    await expect(counter.admit(ask("stalled-admit", 68))).rejects.toThrow(/budgets cannot be checked/);
    await sleep(600);
    redis.resume();
    await expect.poll(() => counter.pendingCount, { timeout: 5_000 }).toBe(0);
    expect(await shared(link, "stalled-admit")).toEqual({ settled: 32, reserved: 0 });
    const answer = await counter.admit(ask("stalled-admit", 68));
    expect(answer).toMatchObject({ decision: "normal", spentNanos: 32 * UNIT });
  });

  it("counts a call admitted in this process during a stall (policy open) in the shared counter once, releasing the late admission", async () => {
    const { counter, link } = await instance(redis.url, redisPrefix(), "open");
    await counter.admit(ask("stalled-open", 0)).then((a) => a.settle(10 * UNIT));
    redis.pause();
    const answer = await counter.admit(ask("stalled-open", 50)); // Redis timed out: counted here
    expect(answer.decision).toBe("normal");
    await answer.settle(25 * UNIT); // kept for Redis too
    redis.resume();
    await expect.poll(() => counter.pendingCount, { timeout: 5_000 }).toBe(0);
    expect(await shared(link, "stalled-open")).toEqual({ settled: 35, reserved: 0 });
  });

  it("adds the spend counted in this process while Redis was down (policy open) once Redis is back with its data", async () => {
    const { counter, link } = await instance(redis.url, redisPrefix(), "open");
    await counter.admit(ask("outage", 0)).then((a) => a.settle(10 * UNIT));
    // A call admitted by Redis before the outage, settling during it.
    const inFlight = await counter.admit(ask("outage", 40));
    await redis.stop();
    await expect.poll(() => link.isUp, { timeout: 5_000 }).toBe(false);
    const during = [await counter.admit(ask("outage", 40)), await counter.admit(ask("outage", 40))];
    expect(during.map((a) => a.decision)).toEqual(["normal", "normal"]);
    await during[0]!.settle(30 * UNIT);
    await during[1]!.settle(20 * UNIT);
    await inFlight.settle(15 * UNIT);
    expect(counter.pendingCount).toBe(3);
    await redis.start();
    await expect.poll(() => counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await shared(link, "outage")).toEqual({ settled: 75, reserved: 0 });
    expect(await counter.spent("outage", period)).toBe(75 * UNIT);
  });
});
