// A spend counter rebuilt from the ledger (Redis lost its data, or UpdateKey
// dropped it) cannot read the rows still waiting in OTHER instances' queues,
// though their calls' costs were in the counter that went. Each instance
// holds its own unstored cost in the rebuilt counter, so the key stays held to
// its budget (audit "fleet", finding 1: $2 budget, 8 calls, FLUSHALL, then 40
// calls spent $3.22). Two counters share a real redis-server of this test's own
// (flushed by the test) and a real (SQLite) ledger store, whose rows the test
// stores when it chooses; each instance has its own unstored rows.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { currentPeriod } from "../../src/usage/budgets.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { ledgerSpendSeed, UnstoredSpend } from "../../src/usage/unstored-spend.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { startRedis, type RunningService } from "../support/services.js";
import { openMigratedDatabase, redisPrefix } from "../support/stores.js";

const logger = createLogger("silent");
const UNIT = 1e9;
/** One call: $0.14, as in the audit. */
const CALL = 0.14 * UNIT;
const BUDGET: KeyBudget = { limitNanos: 2 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };

/** The counters' clock and the rows' times: a second per call, from a minute ago. */
const clock = { now: Date.now() - 60_000 };
const period = currentPeriod("month", clock.now);

/** One gateway instance: its spend counter, and its ledger rows not stored yet. */
interface Instance {
  link: RedisLink;
  counter: RedisSpendCounter;
  unstored: UnstoredSpend;
  rows: LedgerRow[];
}

describe("a rebuilt spend counter and the rows other instances have not stored yet", () => {
  let redis: RunningService;
  let db: SqlDatabase;
  let dropDb: () => Promise<void>;
  let ledger: LedgerStore;
  const instances: Instance[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    ({ db, drop: dropDb } = await openMigratedDatabase("sqlite"));
    ledger = new LedgerStore(db);
  });
  afterEach(async () => {
    for (const { counter, link } of instances.splice(0)) {
      counter.close();
      await link.close().catch(() => {});
    }
  });
  afterAll(async () => {
    await redis?.stop();
    await db?.close();
    await dropDb?.();
  });

  async function instance(prefix: string): Promise<Instance> {
    const link = new RedisLink({ url: redis.env.SWITCHBOARD_TEST_REDIS_URL!, prefix, logger });
    await link.connect();
    const errors = new RedisErrors(new GatewayMetrics({ defaultMetrics: false }).redisErrors, logger);
    const unstored = new UnstoredSpend();
    const counter = new RedisSpendCounter(link, ledgerSpendSeed(ledger, unstored), "open", errors, {
      now: () => clock.now,
      storedRowKeys: (rowKeys) => ledger.storedRowKeys(rowKeys),
      unstored,
    });
    const made = { link, counter, unstored, rows: [] };
    instances.push(made);
    return made;
  }

  /** A whole call on `on`, if the budget admits it: settled, its row appended to the instance's queue (not stored). */
  async function call(on: Instance, keyId: string): Promise<boolean> {
    clock.now += 1_000;
    const atMs = clock.now;
    const answer = await on.counter.admit({ keyId, budget: BUDGET, period, reserveNormal: CALL, reserveEconomy: undefined, atMs });
    if (answer.decision === "refused") return false;
    const row = { ...ledgerRow({ keyId, atMs, costNanos: CALL, requestId: randomUUID() }), rowKey: randomUUID() };
    on.unstored.add(row);
    on.rows.push(row);
    await answer.settle(CALL, row.rowKey);
    return true;
  }

  /** The instance's queue is written to the store. */
  async function store(on: Instance): Promise<void> {
    await ledger.insert(on.rows);
    for (const row of on.rows.splice(0)) on.unstored.remove(row);
  }

  async function shared(link: RedisLink, keyId: string): Promise<number | undefined> {
    const read = await new SpendScripts(link).read(spendKeys(link, keyId, period.startMs, ""), clock.now);
    return read && read.settled + read.reserved;
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
    await expect.poll(() => shared(a.link, keyId), { timeout: 5_000 }).toBe(9 * CALL);
    // B's rows are stored: the counter is read from the ledger again, and B's entry dropped; still nine calls.
    await store(b);
    await store(a);
    await expect.poll(() => b.counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await shared(a.link, keyId)).toBe(9 * CALL);
    // The audit's burst: what is left of $2 is five calls (the fifth passes it by less than one call), not a whole budget more.
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (await call(i % 2 === 0 ? a : b, keyId)) admitted++;
    expect(admitted).toBe(6);
    expect(await shared(a.link, keyId)).toBe(15 * CALL);
  });
});
