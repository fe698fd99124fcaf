// When Redis fails under policy "open" (unreachable, or a cluster's failover
// that outlasts the wait), each instance counts a key's limits and budget on
// its own. That count goes on from the shared one this instance last saw,
// never from a full allowance or from the ledger alone: the fleet test once
// saw three instances admit 94 calls against 73 allowed, and spend $3.64 of
// $3, through a Redis master's failover. Real Redis; its failure is the
// link's `isUp` turned off, so that the shared state stays to be read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { RedisRateLimiter } from "../../src/limits/redis-rate-limiter.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, type BudgetAsk } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { linksToTestRedis, silentRedisErrors } from "../support/redis-instances.js";

const UNIT = 1e9;

/** One instance's link to the shared Redis, whose failure the test turns on and off. */
interface Instance {
  link: RedisLink;
  failing: boolean;
}

describe("a process's own count when Redis fails goes on from the shared count it last saw", () => {
  const links = linksToTestRedis(2);
  const instances: Instance[] = [];
  const closers: (() => void)[] = [];
  beforeAll(() => {
    for (const link of links) {
      const instance: Instance = { link, failing: false };
      const up = Object.getOwnPropertyDescriptor(RedisLink.prototype, "isUp")!.get!;
      Object.defineProperty(link, "isUp", { get: () => !instance.failing && up.call(link) });
      instances.push(instance);
    }
  });
  afterAll(() => {
    for (const close of closers) close();
  });
  const failRedis = (failing: boolean) => instances.forEach((instance) => (instance.failing = failing));

  it("rate limits: a key that used its minute through Redis gets no fresh allowance on each instance", async () => {
    const limiters = instances.map(({ link }) => new RedisRateLimiter(link, "open", silentRedisErrors()));
    closers.push(...limiters.map((limiter) => () => limiter.close()));
    const requests = { requestsPerMinute: 4, tokensPerMinute: 0 };
    const tokens = { requestsPerMinute: 0, tokensPerMinute: 1_000 };
    for (let i = 0; i < 4; i++) expect((await limiters[i % 2]!.acquire("requests", requests, 0)).allowed).toBe(true);
    // The first instance last heard from Redis after the third call (one left), then that the key is refused.
    expect((await limiters[0]!.acquire("requests", requests, 0)).allowed).toBe(false);
    expect((await limiters[0]!.acquire("tokens", tokens, 900)).allowed).toBe(true);
    // The second instance has only seen the key refused: it follows that too.
    expect((await limiters[1]!.acquire("tokens", tokens, 200)).allowed).toBe(false);

    failRedis(true);
    try {
      for (const limiter of limiters) {
        expect(await limiter.acquire("requests", requests, 0)).toMatchObject({ allowed: false, limit: "requests" });
        expect(await limiter.acquire("tokens", tokens, 200)).toMatchObject({ allowed: false, limit: "tokens" });
        // What is left is still there.
        expect((await limiter.acquire("tokens", tokens, 40)).allowed).toBe(true);
      }
    } finally {
      failRedis(false);
    }
  });

  describe("budgets", () => {
    const period = currentPeriod("month");
    const budget: KeyBudget = { limitNanos: 10 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };
    const ask = (keyId: string): BudgetAsk => ({ keyId, budget, period, reserveNormal: 4 * UNIT, reserveEconomy: undefined, atMs: Date.now() });
    /** The ledger has none of the key's calls yet (their rows wait in the instances' queues). */
    const counters = () => {
      const made = instances.map(({ link }) => new RedisSpendCounter(link, async () => 0, "open", silentRedisErrors()));
      closers.push(...made.map((counter) => () => counter.close()));
      return made;
    };
    async function spend(counter: RedisSpendCounter, keyId: string, units: number): Promise<string> {
      const answer = await counter.admit(ask(keyId));
      if (answer.decision !== "refused") await answer.settle(units * UNIT);
      return answer.decision;
    }

    it("a key that spent its budget through Redis is refused on each instance, whatever the ledger has", async () => {
      const [a, b] = counters();
      for (let i = 0; i < 3; i++) expect(await spend(a!, "spent", 3)).toBe("normal");
      expect(await spend(b!, "spent", 3)).toBe("normal");
      expect(await a!.spent("spent", period)).toBe(12 * UNIT);

      failRedis(true);
      try {
        expect(await spend(a!, "spent", 3)).toBe("refused");
        expect(await spend(b!, "spent", 3)).toBe("refused");
      } finally {
        failRedis(false);
      }
    });

    it("a count kept from an earlier outage is raised to what Redis said since", async () => {
      const [a, b] = counters();
      failRedis(true);
      try {
        expect(await spend(a!, "twice", 1)).toBe("normal");
      } finally {
        failRedis(false);
      }
      // Back: the other instance spends the rest, and this one sees it (its kept unit reaches Redis first).
      for (let i = 0; i < 3; i++) expect(await spend(b!, "twice", 3)).toBe("normal");
      expect(await spend(a!, "twice", 3)).toBe("refused");

      failRedis(true);
      try {
        expect(await spend(a!, "twice", 3)).toBe("refused");
      } finally {
        failRedis(false);
      }
    });
  });
});
