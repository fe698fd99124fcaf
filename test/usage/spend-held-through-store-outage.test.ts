// A call admitted before its spend counter's rebuild point is the ledger's to
// count: its settlement adds nothing to the counter, and its entry holds its
// cost until the ledger's store has its row. While the store is down (for
// longer than a reservation's 15-minute lease, or while a Redis outage fills
// the instance's kept settlements), that entry must keep counting, or a key
// could pass its budget. Real Redis (through a proxy the test can cut) and a
// real (SQLite) ledger store, whose rows the test stores when it chooses; the
// counter's clock is the test's.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { currentPeriod, type BudgetAnswer } from "../../src/usage/budgets.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { ledgerSpendSeed, UnstoredSpend } from "../../src/usage/unstored-spend.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { requireService } from "../support/require-service.js";
import { openMigratedDatabase, redisPrefix } from "../support/stores.js";
import { tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const logger = createLogger("silent");
const UNIT = 1e9;
const CALL = 0.3 * UNIT;
/** Three calls reach the limit: the third's cost is what tells a refusal from an admission past the budget. */
const BUDGET: KeyBudget = { limitNanos: 3 * CALL, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };
const MINUTE = 60_000;

/** The counter's clock and the rows' times, from an hour ago (an older rebuild read the ledger up to the real time). */
const clock = { now: Date.now() - 60 * MINUTE };
const period = currentPeriod("month", clock.now);

type Call = { answer: BudgetAnswer; row: LedgerRow & { rowKey: string } };

describe("a charge the ledger is to count, while the ledger's store is down", () => {
  let redis: TcpProxy;
  let db: SqlDatabase;
  let dropDb: () => Promise<void>;
  let ledger: LedgerStore;
  /** The store's outage, as the counter sees it: it cannot say which rows are stored. */
  let storeDown = false;
  const opened: { link: RedisLink; counter: RedisSpendCounter }[] = [];

  beforeAll(async () => {
    const target = new URL(requireService("SWITCHBOARD_TEST_REDIS_URL"));
    redis = await tcpProxy({ host: target.hostname, port: Number(target.port) });
    await redis.open();
    ({ db, drop: dropDb } = await openMigratedDatabase("sqlite"));
    ledger = new LedgerStore(db);
  });
  afterEach(async () => {
    storeDown = false;
    await redis.open();
    for (const { counter, link } of opened.splice(0)) {
      counter.close();
      await link.close().catch(() => {});
    }
  });
  afterAll(async () => {
    await redis?.close();
    await db?.close();
    await dropDb?.();
  });

  async function instance(maxPending?: number) {
    const link = new RedisLink({ url: `redis://127.0.0.1:${redis.port}`, prefix: redisPrefix(), logger });
    await link.connect();
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const counter = new RedisSpendCounter(link, ledgerSpendSeed(ledger, new UnstoredSpend()), "open", new RedisErrors(metrics.redisErrors, logger), {
      now: () => clock.now,
      maxPending,
      storedRowKeys: (rowKeys) => (storeDown ? Promise.reject(new Error("the store is down")) : ledger.storedRowKeys(rowKeys)),
    });
    const made = { link, counter, metrics };
    opened.push(made);
    return made;
  }

  async function admit(counter: RedisSpendCounter, keyId: string): Promise<Call> {
    clock.now += 1_000;
    const atMs = clock.now;
    const answer = await counter.admit({ keyId, budget: BUDGET, period, reserveNormal: CALL, reserveEconomy: undefined, atMs });
    return { answer, row: { ...ledgerRow({ keyId, atMs, costNanos: CALL, requestId: randomUUID() }), rowKey: randomUUID() } };
  }

  async function settle({ answer, row }: Call): Promise<LedgerRow> {
    await answer.settle(CALL, row.rowKey);
    return row;
  }

  /** Redis loses the key's counter (a flush, a failover to an empty replica): the next admission rebuilds it from the ledger. */
  async function loseCounter(link: RedisLink, keyId: string): Promise<void> {
    const keys = spendKeys(link, keyId, period.startMs, "");
    await link.client.del(keys.spent, keys.reservations, keys.leases, keys.rebuilt);
  }

  /**
   * A call admitted, then its counter lost; a second call rebuilds the counter (from the first's stored row)
   * and is stored; the first settles while the store is down: its cost is held, the ledger's to count.
   */
  async function heldCharge(counter: RedisSpendCounter, link: RedisLink, keyId: string): Promise<LedgerRow> {
    const inFlight = await admit(counter, keyId);
    await loseCounter(link, keyId);
    await ledger.insert([await settle(await admit(counter, keyId))]);
    storeDown = true;
    const held = await settle(inFlight);
    expect(counter.pendingCount).toBe(1);
    return held;
  }

  async function sharedSpend(link: RedisLink, keyId: string): Promise<number | undefined> {
    const read = await new SpendScripts(link).read(spendKeys(link, keyId, period.startMs, ""), clock.now);
    return read && read.settled + read.reserved;
  }

  it("still counts the held charge after 16 minutes of store outage, refusing the call that would pass the budget", async () => {
    const { counter, link } = await instance();
    const held = await heldCharge(counter, link, "long-outage");
    clock.now += 16 * MINUTE;
    expect(await sharedSpend(link, "long-outage")).toBe(2 * CALL);
    await ledger.insert([await settle(await admit(counter, "long-outage"))]);
    // Spent: the stored call, the held one and this one: the budget is reached.
    expect((await admit(counter, "long-outage")).answer.decision).toBe("refused");
    // The store is back and has the held call's row: the ledger counts it, once.
    storeDown = false;
    await ledger.insert([held]);
    await expect.poll(() => counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await sharedSpend(link, "long-outage")).toBe(3 * CALL);
    expect(await ledger.spend("long-outage", period.startMs, period.endMs)).toBe(3 * CALL);
  });

  it("keeps the held charge when a Redis outage fills the kept settlements, and folds it in once stored", async () => {
    const { counter, link, metrics } = await instance(1);
    const held = await heldCharge(counter, link, "crowded");
    await redis.cut();
    await expect.poll(() => link.isUp, { timeout: 5_000 }).toBe(false);
    // Admitted in memory; its settlement is kept for Redis, up to the bound of one.
    const local = await settle(await admit(counter, "crowded"));
    expect(counter.pendingCount).toBe(2);
    const dropped = (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === "budget_pending_dropped");
    expect(dropped?.value ?? 0).toBe(0);
    await redis.open();
    storeDown = false;
    await ledger.insert([held, local]);
    await expect.poll(() => counter.pendingCount, { timeout: 10_000 }).toBe(0);
    expect(await sharedSpend(link, "crowded")).toBe(3 * CALL);
    expect(await ledger.spend("crowded", period.startMs, period.endMs)).toBe(3 * CALL);
  });
});
