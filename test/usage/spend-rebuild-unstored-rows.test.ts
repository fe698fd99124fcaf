// A spend counter rebuilt from the ledger (Redis lost its data, or UpdateKey
// dropped it) cannot read the rows still waiting in OTHER instances' queues,
// though their calls' costs were in the counter that went. Each instance
// holds its own unstored cost in the rebuilt counter, so the key stays held to
// its budget (audit "fleet", finding 1: $2 budget, 8 calls, FLUSHALL, then 40
// calls spent $3.22). Two counters share a real redis-server of this test's own
// (flushed by the test) and a real (SQLite) ledger store, whose rows the test
// stores when it chooses; each instance has its own unstored rows.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";
import { startRedis } from "../support/services.js";
import { redisPrefix } from "../support/stores.js";
import { spendCounterFleet, UNIT, type SpendInstance } from "./support/spend-counter-fleet.js";

/** One call: $0.14, as in the audit. */
const CALL = 0.14 * UNIT;
const BUDGET: KeyBudget = { limitNanos: 2 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };

/** One gateway instance, and its ledger rows not stored yet in the order of their calls. */
interface Instance extends SpendInstance {
  rows: LedgerRow[];
}

describe("a rebuilt spend counter and the rows other instances have not stored yet", () => {
  const fleet = spendCounterFleet({
    async startRedis() {
      const redis = await startRedis();
      return { url: redis.env.SWITCHBOARD_TEST_REDIS_URL!, stop: () => redis.stop() };
    },
    callNanos: CALL,
    budget: BUDGET,
    countersSeeUnstored: true,
  });

  async function instance(prefix: string): Promise<Instance> {
    return { ...(await fleet.instance(prefix)), rows: [] };
  }

  /** A whole call on `on`, if the budget admits it: settled, its row appended to the instance's queue (not stored). */
  async function call(on: Instance, keyId: string): Promise<boolean> {
    const admitted = await fleet.admit(on, keyId);
    if (admitted.answer.decision === "refused") return false;
    on.unstored.add(admitted.row);
    on.rows.push(admitted.row);
    await fleet.settle(admitted);
    return true;
  }

  /** The instance's queue is written to the store. */
  async function store(on: Instance): Promise<void> {
    await fleet.ledger.insert(on.rows);
    for (const row of on.rows.splice(0)) on.unstored.remove(row);
  }

  const losses: [string, (a: Instance, keyId: string) => Promise<unknown>][] = [
    ["Redis loses its data (FLUSHALL)", (a) => a.link.client.flushall()],
    ["UpdateKey drops the key's counter (a changed period)", (a, keyId) => a.counter.forget(keyId)],
  ];

  it.each(losses)("holds the key to its budget when %s while another instance's rows wait for the store", async (_, lose) => {
    const keyId = `k-${randomUUID()}`;
    const prefix = redisPrefix();
    const [a, b] = [await instance(prefix), await instance(prefix)];
    // Eight calls on B ($1.12), settled into the shared counter; their rows wait in B's queue.
    for (let i = 0; i < 8; i++) expect(await call(b, keyId)).toBe(true);
    await lose(a, keyId);
    // A rebuilds the counter: the store has none of B's rows.
    expect(await call(a, keyId)).toBe(true);
    // B holds its unstored cost in the rebuilt counter.
    await expect.poll(() => fleet.sharedSpend(a.link, keyId), { timeout: 5_000 }).toBe(9 * CALL);
    // B's rows are stored: the counter is read from the ledger again, and B's entry dropped; still nine calls.
    await store(b);
    await store(a);
    await expect.poll(() => b.counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await fleet.sharedSpend(a.link, keyId)).toBe(9 * CALL);
    // The audit's burst: what is left of $2 is five calls (the fifth passes it by less than one call), not a whole budget more.
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (await call(i % 2 === 0 ? a : b, keyId)) admitted++;
    expect(admitted).toBe(6);
    expect(await fleet.sharedSpend(a.link, keyId)).toBe(15 * CALL);
  });
});
