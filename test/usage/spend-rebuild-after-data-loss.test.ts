// After Redis loses its data, the shared spend counter is rebuilt from the
// ledger by whichever instance needs it first, while other instances still
// hold settlements of calls the ledger may already have (admitted in memory
// during the outage, or in flight when the data went). The counter must come
// to the ledger's spend: no call counted twice, none lost. Two counters share
// a real redis-server of this test's own, restarted without persistence, and
// a real (SQLite) ledger store, whose rows the test stores when it chooses;
// the counters' clock (leases, rebuild points) and the rows' times are the
// test's.
import { describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import type { RedisLink } from "../../src/redis/redis-link.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";
import { ownRedis } from "../support/own-redis.js";
import { redisPrefix } from "../support/stores.js";
import { spendCounterFleet, UNIT, type AdmittedCall, type SpendInstance } from "./support/spend-counter-fleet.js";

/** One call: $0.12, as in the audit (gpt-4o at $10,000 per million tokens). */
const CALL = 0.12 * UNIT;
const BUDGET: KeyBudget = { limitNanos: 3 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };

describe("the shared spend counter after Redis loses its data", () => {
  const fleet = spendCounterFleet({ startRedis: () => ownRedis({ keepData: false }), callNanos: CALL, budget: BUDGET, countersSeeUnstored: false });

  /** A call admitted now on `on`, a second after the last: its answer, and the ledger row it will be recorded with. */
  async function admit(on: SpendInstance, keyId: string): Promise<AdmittedCall> {
    const admitted = await fleet.admit(on, keyId);
    expect(admitted.answer.decision).toBe("normal");
    return admitted;
  }

  /** A whole call, its row stored at once. */
  async function call(on: SpendInstance, keyId: string): Promise<void> {
    await fleet.ledger.insert([await fleet.settle(await admit(on, keyId))]);
  }

  async function outage(...on: SpendInstance[]): Promise<void> {
    await fleet.redis.stop();
    for (const { link } of on) await expect.poll(() => link.isUp, { timeout: 5_000 }).toBe(false);
  }

  async function backEmpty(...on: SpendInstance[]): Promise<void> {
    await fleet.redis.start();
    for (const { link } of on) await expect.poll(() => link.isUp, { timeout: 10_000 }).toBe(true);
  }

  /** The shared counter's settled spend and the ledger's, in nano-units. */
  async function sharedAndLedger(link: RedisLink, keyId: string): Promise<{ shared: number | undefined; ledger: number }> {
    const { period } = fleet;
    return { shared: await fleet.sharedSpend(link, keyId), ledger: await fleet.ledger.spend(keyId, period.startMs, period.endMs) };
  }

  it("does not count twice an instance's outage calls that another instance rebuilt the counter with (the audit's case)", async () => {
    const prefix = redisPrefix();
    const [a, b] = [await fleet.instance(prefix), await fleet.instance(prefix)];
    await call(b, "audit");
    await outage(a, b);
    // Five calls admitted in A's memory; their rows reach the ledger, their settlements wait in A for Redis.
    for (let i = 0; i < 5; i++) await call(a, "audit");
    expect(a.counter.pendingCount).toBe(5);
    await backEmpty(a, b);
    // B is first: it rebuilds the counter from a ledger that has A's five calls, then adds its own call.
    await call(b, "audit");
    // A sends its kept settlements (every 2 s).
    await expect.poll(() => a.counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await sharedAndLedger(a.link, "audit")).toEqual({ shared: 7 * CALL, ledger: 7 * CALL });
    // And it stays so: the next call on each instance adds its own cost only.
    await call(a, "audit");
    await call(b, "audit");
    expect(await sharedAndLedger(b.link, "audit")).toEqual({ shared: 9 * CALL, ledger: 9 * CALL });
  });

  it("counts once the calls the ledger did not have yet when the counter was rebuilt, whichever instance rebuilds", async () => {
    const prefix = redisPrefix();
    const [a, b] = [await fleet.instance(prefix), await fleet.instance(prefix)];
    await call(b, "lagging");
    // Admitted by Redis before it lost its data; settles after.
    const inFlight = await admit(b, "lagging");
    await outage(a, b);
    // Three calls in A's memory whose rows the store does not have yet (its writes lag).
    const unstored: LedgerRow[] = [];
    for (let i = 0; i < 3; i++) unstored.push(await fleet.settle(await admit(a, "lagging")));
    await backEmpty(a, b);
    // A is first this time: its next admission sends its kept settlements, rebuilding the counter (from one row) on the way;
    // admitted before the rebuild, their calls are the ledger's to count, their costs held meanwhile.
    const next = await admit(a, "lagging");
    expect(next.answer.spentNanos).toBe(4 * CALL);
    unstored.push(await fleet.settle(inFlight));
    await fleet.ledger.insert([await fleet.settle(next)]);
    // Until the store has their rows, those calls' entries hold their costs, so admissions count them meanwhile.
    expect(a.counter.pendingCount).toBe(3);
    expect(b.counter.pendingCount).toBe(1);
    expect(await sharedAndLedger(a.link, "lagging")).toEqual({ shared: 6 * CALL, ledger: 2 * CALL });
    await fleet.ledger.insert(unstored);
    await expect.poll(() => a.counter.pendingCount + b.counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await sharedAndLedger(a.link, "lagging")).toEqual({ shared: 6 * CALL, ledger: 6 * CALL });
  });

  it("does not count twice a call in flight when Redis was flushed, whose row the rebuild found", async () => {
    const prefix = redisPrefix();
    const [a, b] = [await fleet.instance(prefix), await fleet.instance(prefix)];
    await call(a, "flushed");
    const inFlight = await admit(b, "flushed");
    await b.link.client.flushall();
    // The call's row is stored before its settlement reaches Redis (a settlement kept after a timeout, say).
    await fleet.ledger.insert([inFlight.row]);
    await call(a, "flushed");
    await fleet.settle(inFlight);
    await expect.poll(() => b.counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await sharedAndLedger(a.link, "flushed")).toEqual({ shared: 3 * CALL, ledger: 3 * CALL });
  });
});
