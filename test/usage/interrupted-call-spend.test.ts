// What a call the gateway's end cut short does to its key's spend when the
// next start replays it (UsageLedger's `chargeInterrupted`): it is added once,
// before its row is stored. Time for leases is the counters' clock, moved on
// by the test; Redis is the test services' own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, MemorySpendCounter, type BudgetAsk } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const UNIT = 1e9;
const clock = { now: Date.now() };
const period = currentPeriod("month", clock.now);

function ask(keyId: string, reserveUnits: number): BudgetAsk {
  const budget: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };
  return { keyId, budget, period, reserveNormal: reserveUnits * UNIT, reserveEconomy: undefined };
}

describe("charging an interrupted call in this process's counter", () => {
  it("adds the cost once to the count seeded from a ledger that does not have the row yet; a period that is over is left alone", async () => {
    let seeds = 0;
    const counter = new MemorySpendCounter(async () => (seeds++, 7 * UNIT));
    await counter.charge({ keyId: "k", period, costNanos: 5 * UNIT, callId: "call-1" });
    expect(await counter.spent("k", period)).toBe(12 * UNIT);
    expect(seeds).toBe(1);
    const over = { startMs: period.startMs - 1_000, endMs: period.startMs };
    await counter.charge({ keyId: "k", period: over, costNanos: 5 * UNIT, callId: "call-2" });
    expect(seeds).toBe(1);
    counter.close();
  });
});

describe("charging an interrupted call on the shared counter", () => {
  const links: RedisLink[] = [];
  const counters: RedisSpendCounter[] = [];
  let prefix: string;
  beforeAll(() => {
    prefix = redisPrefix();
  });
  afterAll(async () => {
    for (const counter of counters) counter.close();
    for (const link of links) await link.close().catch(() => {});
  });

  async function instance(seedUnits = 0): Promise<{ counter: RedisSpendCounter; link: RedisLink }> {
    const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix, logger });
    await link.connect();
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const counter = new RedisSpendCounter(link, async () => seedUnits * UNIT, "open", new RedisErrors(metrics.redisErrors, logger), { now: () => clock.now });
    links.push(link);
    counters.push(counter);
    return { counter, link };
  }

  async function shared(link: RedisLink, keyId: string) {
    const read = await new SpendScripts(link).read(spendKeys(link, keyId, period.startMs, ""), clock.now);
    return read && { settled: read.settled / UNIT, reserved: read.reserved / UNIT };
  }

  it("settles the dead instance's reservation by its id: the cost lands once and the reservation stops holding the budget at once", async () => {
    const dying = await instance();
    const answer = await dying.counter.admit(ask("killed-mid-call", 30));
    expect(answer.callId).toBeDefined();
    expect(await shared(dying.link, "killed-mid-call")).toEqual({ settled: 0, reserved: 30 });
    // The instance is killed: nothing settles the call. The next start replays it.
    const next = await instance();
    await next.counter.charge({ keyId: "killed-mid-call", period, costNanos: 5 * UNIT, callId: answer.callId! });
    expect(await shared(next.link, "killed-mid-call")).toEqual({ settled: 5, reserved: 0 });
    // Replayed again (a crash mid-replay): the settlement's marker makes it a no-op.
    await next.counter.charge({ keyId: "killed-mid-call", period, costNanos: 5 * UNIT, callId: answer.callId! });
    expect(await shared(next.link, "killed-mid-call")).toEqual({ settled: 5, reserved: 0 });
  });

  it("rebuilds a missing counter from the ledger (which has not the row yet) before adding the cost", async () => {
    const next = await instance(7);
    await next.counter.charge({ keyId: "never-counted", period, costNanos: 5 * UNIT, callId: "row-abc" });
    expect(await shared(next.link, "never-counted")).toEqual({ settled: 12, reserved: 0 });
  });
});
