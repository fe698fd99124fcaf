// A call's budget reservation grows before each further attempt (a retry
// after a cut one, a hedge), judged the way its admission was: on the spend
// without its own reservation, so a key passes its budget by at most one
// call's reservation, grown. The grown reservation is settled once, whole, by
// the call's settlement or by a replay's charge of its id; on the in-process
// counter and on a real Redis alike, and by REDIS_FAILURE_POLICY when Redis
// fails.
import { ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, MemorySpendCounter, type BudgetAsk, type SpendCounter } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const UNIT = 1e9;
const period = currentPeriod("month");
const budget: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 1, whenExhausted: "refuse" };
const ask = (keyId: string, units: number): BudgetAsk => ({ keyId, budget, period, reserveNormal: units * UNIT, reserveEconomy: undefined });

const links: RedisLink[] = [];
afterAll(async () => {
  for (const link of links) await link.close().catch(() => {});
});

async function redisCounter(policy: "open" | "closed" = "closed"): Promise<{ counter: RedisSpendCounter; link: RedisLink }> {
  const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger });
  await link.connect();
  links.push(link);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  return { counter: new RedisSpendCounter(link, async () => 0, policy, new RedisErrors(metrics.redisErrors, logger)), link };
}

const counters: [string, () => Promise<SpendCounter>][] = [
  ["the in-process counter", async () => new MemorySpendCounter(async () => 0)],
  ["the Redis counter", async () => (await redisCounter()).counter],
];

describe.each(counters)("%s", (_, make) => {
  it("grows a call's reservation while what the others hold is under the limit, and settles it whole, once", async () => {
    const counter = await make();
    const a = await counter.admit(ask("grows", 50));
    const b = await counter.admit(ask("grows", 60)); // 50 spent: admitted, and the key is past its limit
    expect(b.decision).toBe("normal");
    expect((await counter.admit(ask("grows", 1))).decision).toBe("refused");
    // A alone holds 50 of the 110: the 60 the others hold is under the limit, as when A was admitted.
    expect(await a.grow(10 * UNIT)).toEqual({ granted: true, spentNanos: 110 * UNIT });
    // A call of a dead run, charged: the others now hold 100, and A's next attempt is not sent.
    await counter.charge({ keyId: "grows", period, costNanos: 40 * UNIT, callId: "a-dead-run's-call" });
    expect(await a.grow(10 * UNIT)).toEqual({ granted: false, spentNanos: 160 * UNIT });
    expect(await counter.spent("grows", period)).toBe(160 * UNIT);
    // A's settlement replaces the whole of its grown reservation (60) with its cost, once.
    await a.settle(55 * UNIT);
    await a.settle(55 * UNIT);
    await b.settle(0);
    expect(await counter.spent("grows", period)).toBe(95 * UNIT);
    // Settled, a call grows no more.
    expect((await a.grow(UNIT)).granted).toBe(false);
    expect(await counter.spent("grows", period)).toBe(95 * UNIT);
    counter.close();
  });
});

describe("the Redis counter", () => {
  it("drops a grown reservation whole when a replay charges the call's id (its process died)", async () => {
    const { counter } = await redisCounter();
    const call = await counter.admit(ask("replayed", 30));
    expect((await call.grow(20 * UNIT)).granted).toBe(true);
    expect(await counter.spent("replayed", period)).toBe(50 * UNIT);
    await counter.charge({ keyId: "replayed", period, costNanos: 12 * UNIT, callId: call.callId! });
    await counter.charge({ keyId: "replayed", period, costNanos: 12 * UNIT, callId: call.callId! });
    expect(await counter.spent("replayed", period)).toBe(12 * UNIT);
    counter.close();
  });

  it("judges a growth by REDIS_FAILURE_POLICY when Redis fails: in this process (open), or not at all (closed)", async () => {
    const closed = await redisCounter("closed");
    const held = await closed.counter.admit(ask("unreachable", 30));
    await closed.link.close();
    const refusal = await held.grow(10 * UNIT).catch((err: unknown) => ConnectError.from(err));
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as ConnectError).rawMessage).toMatch(/budgets cannot be checked/);
    closed.counter.close();

    const open = await redisCounter("open");
    const call = await open.counter.admit(ask("unreachable-open", 30));
    await open.link.close();
    // Judged on this process's count, which starts from the shared figure last seen here (the call's own reservation
    // of 30 in it: the ledger has 0), and held here until the call settles.
    expect(await call.grow(10 * UNIT)).toEqual({ granted: true, spentNanos: 30 * UNIT });
    expect(await open.counter.spent("unreachable-open", period)).toBe(40 * UNIT);
    await call.settle(35 * UNIT);
    // The growth held here is let go; the shared figure seen stands for the settlement, kept for Redis.
    expect(await open.counter.spent("unreachable-open", period)).toBe(30 * UNIT);
    expect(open.counter.pendingCount).toBe(1);
    open.counter.close();
  });
});
