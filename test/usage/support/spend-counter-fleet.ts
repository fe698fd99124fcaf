// Gateway instances' Redis spend counters sharing a redis-server of the test's
// own and a real (SQLite) ledger store, whose rows the test stores when it
// chooses: how the tests of a counter rebuilt from the ledger stand up a fleet.
// The counters' clock and the rows' times are the test's.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { KeyBudget } from "../../../src/auth/key-policy.js";
import { RedisLink } from "../../../src/redis/redis-link.js";
import type { SqlDatabase } from "../../../src/store/sql.js";
import { currentPeriod, type BudgetAnswer, type Period } from "../../../src/usage/budgets.js";
import { LedgerStore, type LedgerRow } from "../../../src/usage/ledger-store.js";
import { RedisSpendCounter } from "../../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../../src/usage/spend-scripts.js";
import { ledgerSpendSeed, UnstoredSpend } from "../../../src/usage/unstored-spend.js";
import { ledgerRow } from "../../support/ledger-rows.js";
import { silentLogger, silentRedisErrors } from "../../support/redis-instances.js";
import { openMigratedDatabase } from "../../support/stores.js";

/** A dollar (the accounting currency's unit), in nano-units. */
export const UNIT = 1e9;

/** A redis-server the fleet starts before its tests and stops after them. */
export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** One gateway instance: its link, its spend counter, and its ledger rows not stored yet. */
export interface SpendInstance {
  link: RedisLink;
  counter: RedisSpendCounter;
  unstored: UnstoredSpend;
}

/** A call admitted on an instance: the counter's answer, and the ledger row the call will be recorded with. */
export interface AdmittedCall {
  answer: BudgetAnswer;
  row: LedgerRow & { rowKey: string };
}

export interface SpendCounterFleetOptions<Redis extends TestRedis> {
  startRedis(): Promise<Redis>;
  /** What each call reserves and costs, in nano-units. */
  callNanos: number;
  budget: KeyBudget;
  /** Whether each counter is told of its instance's unstored rows, so as to hold their cost in a counter another instance rebuilt. */
  countersSeeUnstored: boolean;
}

export class SpendCounterFleet<Redis extends TestRedis> {
  redis!: Redis;
  ledger!: LedgerStore;
  /** The counters' clock and the rows' times: a second on per call, from a minute ago (never past the real time, which an older rebuild read the ledger up to). */
  private readonly clock = { now: Date.now() - 60_000 };
  readonly period: Period;
  private db: SqlDatabase | undefined;
  private dropDb: (() => Promise<void>) | undefined;
  private readonly instances: SpendInstance[] = [];

  constructor(private readonly options: SpendCounterFleetOptions<Redis>) {
    this.period = currentPeriod(options.budget.period, this.clock.now);
  }

  async open(): Promise<void> {
    this.redis = await this.options.startRedis();
    ({ db: this.db, drop: this.dropDb } = await openMigratedDatabase("sqlite"));
    this.ledger = new LedgerStore(this.db);
  }

  async closeInstances(): Promise<void> {
    for (const { counter, link } of this.instances.splice(0)) {
      counter.close();
      await link.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.redis?.stop();
    await this.db?.close();
    await this.dropDb?.();
  }

  /** A new instance on the fleet's Redis under `prefix` (one prefix: one shared counter), closed after the test. */
  async instance(prefix: string): Promise<SpendInstance> {
    const link = new RedisLink({ url: this.redis.url, prefix, logger: silentLogger });
    await link.connect();
    const unstored = new UnstoredSpend();
    const counter = new RedisSpendCounter(link, ledgerSpendSeed(this.ledger, unstored), "open", silentRedisErrors(), {
      now: () => this.clock.now,
      storedRowKeys: (rowKeys) => this.ledger.storedRowKeys(rowKeys),
      unstored: this.options.countersSeeUnstored ? unstored : undefined,
    });
    const made = { link, counter, unstored };
    this.instances.push(made);
    return made;
  }

  /** A call asked of `on`'s counter now, a second after the last; its row is made whether or not the budget admits it. */
  async admit(on: SpendInstance, keyId: string): Promise<AdmittedCall> {
    this.clock.now += 1_000;
    const atMs = this.clock.now;
    const { budget, callNanos } = this.options;
    const answer = await on.counter.admit({ keyId, budget, period: this.period, reserveNormal: callNanos, reserveEconomy: undefined, atMs });
    return { answer, row: { ...ledgerRow({ keyId, atMs, costNanos: callNanos, requestId: randomUUID() }), rowKey: randomUUID() } };
  }

  /** The call ends at its cost: settled on its counter (its row named). */
  async settle({ answer, row }: AdmittedCall): Promise<LedgerRow> {
    await answer.settle(this.options.callNanos, row.rowKey);
    return row;
  }

  /** The key's spend this period in the shared counter, settled and reserved, in nano-units (undefined: no counter). */
  async sharedSpend(link: RedisLink, keyId: string): Promise<number | undefined> {
    const read = await new SpendScripts(link).read(spendKeys(link, keyId, this.period.startMs, ""), this.clock.now);
    return read && read.settled + read.reserved;
  }
}

/** A fleet whose Redis and ledger store are there for the tests of the describe block that calls this; instances are closed after each test. */
export function spendCounterFleet<Redis extends TestRedis>(options: SpendCounterFleetOptions<Redis>): SpendCounterFleet<Redis> {
  const fleet = new SpendCounterFleet(options);
  beforeAll(() => fleet.open());
  afterEach(() => fleet.closeInstances());
  afterAll(() => fleet.close());
  return fleet;
}
