import { describe, expect, it } from "vitest";
import { RESET_COOLDOWN_MS, ResetBudget } from "../../src/server/reset-budget.js";

describe("a client address's reset budget", () => {
  it("allows its burst, refills at its rate, and cools an address down once overdrawn", () => {
    let now = 0;
    const budget = new ResetBudget(10, 20, () => now);
    expect(Array.from({ length: 20 }, () => budget.take("a"))).toEqual(Array(20).fill(true));
    expect(budget.take("b")).toBe(true); // another address has its own
    now += 500; // 5 back
    expect(Array.from({ length: 6 }, () => budget.take("a"))).toEqual([true, true, true, true, true, false]);
    expect(budget.coolingDown("a")).toBe(true);
    expect(budget.coolingDown("b")).toBe(false);
    now += RESET_COOLDOWN_MS;
    expect(budget.coolingDown("a")).toBe(false);
    expect(budget.take("a")).toBe(true);
  });

  it("forgets addresses whose bucket is full again and whose cool-down is over", () => {
    let now = 0;
    const budget = new ResetBudget(10, 20, () => now);
    for (let i = 0; i < 21; i++) budget.take("a");
    const held = budget as unknown as { resets: { tat: Map<string, unknown> }; coolingUntil: Map<string, unknown> };
    budget.prune();
    expect([held.resets.tat.size, held.coolingUntil.size]).toEqual([1, 1]);
    now += RESET_COOLDOWN_MS;
    budget.prune();
    expect([held.resets.tat.size, held.coolingUntil.size]).toEqual([0, 0]);
  });
});
