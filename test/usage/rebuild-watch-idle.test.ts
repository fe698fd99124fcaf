// The Redis spend counter watches for counters rebuilt elsewhere (a GET of the
// fleet's rebuild count every 100 ms) for the sake of this instance's ledger
// rows not stored yet, which such a rebuild cannot read. Without any there is
// nothing to hold: after its first look (for rows a run now gone left), an
// idle instance sends no GET; and a counter rebuilt while it was idle holds
// none of the rows that come after. Real Redis (the shared test server); the
// watch's interval is driven by fake timers where the test counts its looks.
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, type BudgetAsk } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { UnstoredSpend } from "../../src/usage/unstored-spend.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { silentLogger, silentRedisErrors } from "../support/redis-instances.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const UNIT = 1e9;
const WATCH_EVERY_MS = 100;
/** The counters' clock: ten seconds into a minute, so that a call a second later is admitted in the same minute. */
const clock = { now: Math.floor(Date.now() / 60_000) * 60_000 + 10_000 };
const period = currentPeriod("month", clock.now);
const BUDGET: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };

const links: RedisLink[] = [];
const counters: RedisSpendCounter[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const counter of counters.splice(0)) counter.close();
  for (const link of links.splice(0)) await link.close();
});

async function connected(prefix: string): Promise<RedisLink> {
  const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix, logger: silentLogger });
  await link.connect();
  links.push(link);
  return link;
}

function counter(link: RedisLink, unstored?: UnstoredSpend, watchEveryMs = WATCH_EVERY_MS): RedisSpendCounter {
  const made = new RedisSpendCounter(link, async () => 0, "open", silentRedisErrors(), { now: () => clock.now, unstored, watchEveryMs });
  counters.push(made);
  return made;
}

/** GETs of the fleet's rebuild count so far, on `link`. */
function rebuildReads(link: RedisLink, gets: MockInstance): number {
  return gets.mock.calls.filter(([key]) => key === link.key("spend", "rebuilds")).length;
}

describe("the rebuild watch of the Redis spend counter", () => {
  let link: RedisLink;
  let gets: MockInstance;
  const reads = () => rebuildReads(link, gets);

  beforeEach(async () => {
    link = await connected(redisPrefix());
    gets = vi.spyOn(link.client, "get");
    // Only the counter's intervals: the Redis client's own timers stay real.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  });

  it("looks once at the start, sends nothing while this instance has no unstored rows, and watches while it has some", async () => {
    const unstored = new UnstoredSpend();
    counter(link, unstored);
    await vi.advanceTimersByTimeAsync(WATCH_EVERY_MS);
    expect(reads()).toBe(1);
    await gets.mock.results[0]!.value;
    await vi.advanceTimersByTimeAsync(20 * WATCH_EVERY_MS);
    expect(reads()).toBe(1);

    const row = ledgerRow({ keyId: "watched", atMs: clock.now, costNanos: 1_000 });
    unstored.add(row);
    // At once, before the call's settlement goes out: the rebuilds of the idle time are seen.
    expect(reads()).toBe(2);
    await vi.waitFor(async () => {
      await vi.advanceTimersByTimeAsync(WATCH_EVERY_MS);
      expect(reads()).toBeGreaterThan(2);
    });

    // Stored: the watch stops at its next turn.
    unstored.remove(row);
    await vi.advanceTimersByTimeAsync(WATCH_EVERY_MS);
    const whenStored = reads();
    await vi.advanceTimersByTimeAsync(20 * WATCH_EVERY_MS);
    expect(reads()).toBe(whenStored);
  });

  it("holds rows a run now gone left from its first look, though the instance is never idle", async () => {
    const unstored = new UnstoredSpend();
    unstored.add(ledgerRow({ keyId: "replayed", atMs: clock.now, costNanos: 1_000 }));
    counter(link, unstored);
    await vi.advanceTimersByTimeAsync(WATCH_EVERY_MS);
    expect(reads()).toBe(1);
  });
});

describe("a counter rebuilt while an instance was idle", () => {
  it("holds none of the rows that instance gets afterwards (their calls are settled into it)", async () => {
    const prefix = redisPrefix();
    const idleLink = await connected(prefix);
    const gets = vi.spyOn(idleLink.client, "get");
    const unstored = new UnstoredSpend();
    const idle = counter(idleLink, unstored, 10);
    // Its first look done, the idle instance stops watching.
    await vi.waitFor(() => expect(rebuildReads(idleLink, gets)).toBe(1));
    await gets.mock.results[0]!.value;

    // Another instance rebuilds the key's counter (its first use this period), and spends 1.
    const other = counter(await connected(prefix));
    const ask: BudgetAsk = { keyId: "rebuilt", budget: BUDGET, period, reserveNormal: UNIT, reserveEconomy: undefined };
    await (await other.admit(ask)).settle(UNIT);

    // A second later, in the same minute, a call on the idle instance: its row waits for the store, its cost is settled.
    clock.now += 1_000;
    const answer = await idle.admit({ ...ask, atMs: clock.now });
    const row = { ...ledgerRow({ keyId: "rebuilt", atMs: clock.now, costNanos: UNIT }), rowKey: "the-idle-instance's-row" };
    unstored.add(row);
    await answer.settle(UNIT, row.rowKey);
    const woken = rebuildReads(idleLink, gets);
    await vi.waitFor(() => expect(rebuildReads(idleLink, gets)).toBeGreaterThan(woken + 1));
    await gets.mock.results.at(-1)!.value;

    // Both calls, once each: the rebuild missed no row of the idle instance, so nothing of its own is held.
    const read = await new SpendScripts(idleLink).read(spendKeys(idleLink, "rebuilt", period.startMs, ""), clock.now);
    expect(read).toEqual({ settled: 2 * UNIT, reserved: 0 });
    expect(idle.pendingCount).toBe(0);
  });
});
