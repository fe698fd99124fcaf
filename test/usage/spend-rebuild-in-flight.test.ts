// The in-process spend counter forgotten (a key changed: keyChanged, or the
// store's change log) while its figure is still being read from the ledger,
// with calls waiting on that read and others already in flight. Each call
// counts once, on the figure that replaced the forgotten one: its
// reservation while it runs, its cost once settled. The ledger reads are
// held by the test, so the interleaving is forced, not hoped for.
import { describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { currentPeriod, MemorySpendCounter, type BudgetAsk, type SpendSeed } from "../../src/usage/budgets.js";

const UNIT = 1e9;
const period = currentPeriod("month");
const budget: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 1, whenExhausted: "refuse" };
const ask = (units: number): BudgetAsk => ({ keyId: "k", budget, period, reserveNormal: units * UNIT, reserveEconomy: undefined });

/** A ledger whose reads answer only when the test says, in the order they were asked. */
function heldLedger(): { seed: SpendSeed; answer: (nanos: number) => void; asked: () => number } {
  const waiting: ((nanos: number) => void)[] = [];
  return {
    seed: () => new Promise((resolve) => waiting.push(resolve)),
    answer: (nanos) => waiting.shift()!(nanos),
    asked: () => waiting.length,
  };
}

describe("the in-process counter forgotten while its figure is read from the ledger", () => {
  it("counts a call admitted on the forgotten figure once, on the figure rebuilt after it", async () => {
    const ledger = heldLedger();
    const counter = new MemorySpendCounter(ledger.seed);
    // A's admission waits for the first read of the key's spend; the key changes meanwhile, and B's admission reads it again.
    const a = counter.admit(ask(10));
    await counter.forget("k");
    const b = counter.admit(ask(10));
    expect(ledger.asked()).toBe(2);
    ledger.answer(0);
    ledger.answer(0);
    const [callA, callB] = await Promise.all([a, b]);
    expect(await counter.spent("k", period)).toBe(20 * UNIT);
    await callA.settle(6 * UNIT);
    await callB.settle(6 * UNIT);
    // What the ledger holds: both calls, $6 each.
    expect(await counter.spent("k", period)).toBe(12 * UNIT);
    counter.close();
  });

  it("judges another attempt of a call in flight on the rebuilt figure once the ledger is read", async () => {
    const ledger = heldLedger();
    const counter = new MemorySpendCounter(ledger.seed);
    const first = counter.admit(ask(50));
    ledger.answer(0);
    const call = await first;
    // The key changes; the next admission rebuilds its figure, and the ledger says $120 were spent meanwhile (by calls
    // made while the key had no budget): no room is left for the call's retry.
    await counter.forget("k");
    const next = counter.admit(ask(1));
    const grown = call.grow(10 * UNIT);
    ledger.answer(120 * UNIT);
    expect(await grown).toEqual({ granted: false, spentNanos: 170 * UNIT });
    expect((await next).decision).toBe("refused");
    await call.settle(50 * UNIT);
    expect(await counter.spent("k", period)).toBe(170 * UNIT);
    counter.close();
  });
});
