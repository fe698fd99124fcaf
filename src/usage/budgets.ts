import { Code } from "@connectrpc/connect";
import type { KeyBudget } from "../auth/key-policy.js";
import type { BudgetPeriodName } from "../config/usage-config.js";
import { gatewayError } from "../common/gateway-error.js";
import type { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";

export interface Period {
  startMs: number;
  endMs: number;
}

/** The calendar period (UTC) that contains `now`; weeks start on Monday. */
export function currentPeriod(period: BudgetPeriodName, now = Date.now()): Period {
  const date = new Date(now);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  switch (period) {
    case "day":
      return { startMs: Date.UTC(y, m, d), endMs: Date.UTC(y, m, d + 1) };
    case "week": {
      const sinceMonday = (date.getUTCDay() + 6) % 7;
      return { startMs: Date.UTC(y, m, d - sinceMonday), endMs: Date.UTC(y, m, d - sinceMonday + 7) };
    }
    case "month":
      return { startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
  }
}

/** What the budget allows for one call. */
export type BudgetDecision = "normal" | "economy" | "refused";

export interface BudgetAsk {
  keyId: string;
  budget: KeyBudget;
  period: Period;
  /** Upper-bound cost of the call as requested, reserved until it settles. */
  reserveNormal: number;
  /** The same for its economy model; undefined when the call has no economy option. */
  reserveEconomy: number | undefined;
}

export interface BudgetAnswer {
  decision: BudgetDecision;
  /** Spent in the period before this call, reservations of calls in flight included. */
  spentNanos: number;
  /** What was reserved for this call. */
  reservedNanos: number;
  /**
   * Replaces the reservation with the call's real cost, on the counter that
   * made it (Redis, or this process when Redis failed): a reservation is
   * never released anywhere else.
   */
  settle(costNanos: number): Promise<void>;
}

/** Reads what a key spent in a period from the usage ledger (rows before `beforeMs`). */
export type SpendSeed = (keyId: string, sinceMs: number, beforeMs: number) => Promise<number>;

/**
 * Spend per key and period. A call reserves an upper bound of its cost when
 * it is admitted and settles with the real cost, so calls in flight count:
 * a key overshoots its budget by at most the last call it admitted, however
 * many instances serve it. All amounts are whole nano-units.
 */
export interface SpendCounter {
  admit(ask: BudgetAsk): Promise<BudgetAnswer>;
  spent(keyId: string, period: Period): Promise<number>;
  close(): void;
}

/**
 * The largest amount a counter takes in one step, in nano-units (2^51, about
 * 2.25 million units): with budgets below half of it, spent + reservations
 * stays an exact integer in a double, in Lua and in JavaScript alike.
 */
export const MAX_NANOS = 2 ** 51;

/** The largest budget a key may have per period: a million units, so that spend plus reservations stays below MAX_NANOS. */
export const MAX_BUDGET_NANOS = 1e15;

/** A whole, non-negative amount a counter can add exactly: anything else is a bug upstream, made harmless here. */
export function wholeNanos(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(Math.ceil(value), MAX_NANOS);
}

/** The one rule, also written in Lua below: soft threshold → economy, limit → refuse (or economy only). */
export function decide(spent: number, ask: BudgetAsk): { decision: BudgetDecision; reserve: number } {
  const { limitNanos, softThreshold, whenExhausted } = ask.budget;
  const hasEconomy = ask.reserveEconomy !== undefined;
  if (spent >= limitNanos) {
    if (whenExhausted === "economy_only" && hasEconomy) return { decision: "economy", reserve: wholeNanos(ask.reserveEconomy!) };
    return { decision: "refused", reserve: 0 };
  }
  if (hasEconomy && spent >= Math.floor(limitNanos * softThreshold)) return { decision: "economy", reserve: wholeNanos(ask.reserveEconomy!) };
  return { decision: "normal", reserve: wholeNanos(ask.reserveNormal) };
}

interface Entry {
  spent: number;
  ready: Promise<void>;
  endMs: number;
}

/** Spend counted in this process, rebuilt from the ledger the first time a key is seen in a period. */
export class MemorySpendCounter implements SpendCounter {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly seed: SpendSeed) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, entry] of this.entries) if (entry.endMs <= now) this.entries.delete(key);
    }, 60_000);
    this.sweeper.unref();
  }

  async admit(ask: BudgetAsk): Promise<BudgetAnswer> {
    const entry = await this.entry(ask.keyId, ask.period);
    const spent = entry.spent;
    const { decision, reserve } = decide(spent, ask);
    entry.spent += reserve;
    let settled = false;
    return {
      decision,
      spentNanos: spent,
      reservedNanos: reserve,
      settle: async (costNanos) => {
        if (settled) return;
        settled = true;
        // The entry of a period that ended meanwhile is gone from the map: the change is harmless there.
        entry.spent += wholeNanos(costNanos) - reserve;
      },
    };
  }

  async spent(keyId: string, period: Period): Promise<number> {
    return (await this.entry(keyId, period)).spent;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private async entry(keyId: string, period: Period): Promise<Entry> {
    const id = `${keyId}@${period.startMs}`;
    let entry = this.entries.get(id);
    if (!entry) {
      // Rows written from now on are this process's calls, already counted here.
      const createdAt = Date.now();
      const created: Entry = {
        spent: 0,
        endMs: period.endMs,
        ready: this.seed(keyId, period.startMs, createdAt).then(
          (seeded) => {
            created.spent += wholeNanos(seeded);
          },
          (err: unknown) => {
            this.entries.delete(id);
            throw err;
          },
        ),
      };
      entry = created;
      this.entries.set(id, entry);
    }
    await entry.ready;
    return entry;
  }
}

// The same rule as `decide`, atomic on Redis. KEYS: the spend counter.
// ARGV: limit, soft limit, reserve normal, reserve economy (-1: none), economy-only (0/1), all whole nano-units.
// Returns {-1, 0, 0} when the counter does not exist (to be seeded from the ledger),
// else {decision (0 normal, 1 economy, 2 refused), spent before, reserved}.
const ADMIT = `
local v = redis.call('GET', KEYS[1])
if not v then return {-1, 0, 0} end
local spent = tonumber(v)
local limit, soft = tonumber(ARGV[1]), tonumber(ARGV[2])
local normal, economy, economy_only = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local decision, reserve = 0, normal
if spent >= limit then
  if economy_only and economy >= 0 then decision, reserve = 1, economy else return {2, v, 0} end
elseif economy >= 0 and spent >= soft then
  decision, reserve = 1, economy
end
redis.call('INCRBY', KEYS[1], reserve)
return {decision, v, reserve}
`;

// Adds to a counter that exists (a missing one is rebuilt from the ledger, which has the call).
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
return 0
`;

type ScriptClient = {
  sbBudgetAdmit(key: string, limit: number, soft: number, normal: number, economy: number, economyOnly: number): Promise<[number, string, number]>;
  sbBudgetAdd(key: string, delta: number): Promise<number>;
};

const DECISIONS: BudgetDecision[] = ["normal", "economy", "refused"];

/**
 * Spend counters shared by every instance in Redis, so N instances never let
 * a key spend N times its budget. A missing counter (first use in a period,
 * or a Redis that lost its data) is rebuilt from the ledger. When Redis
 * fails (unreachable, or a command errs), the error is counted and logged
 * and the policy decides: "open" counts in this process (rebuilt from the
 * ledger), "closed" refuses calls with Unavailable. A settlement Redis could
 * not take is kept and added with the next command that works.
 */
export class RedisSpendCounter implements SpendCounter {
  private readonly local: MemorySpendCounter;
  private readonly scripts: ScriptClient;
  /** Settlements (counter key → nano-units) waiting for Redis to take them. */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly link: RedisLink,
    private readonly seed: SpendSeed,
    private readonly policy: "open" | "closed",
    private readonly errors: RedisErrors,
  ) {
    this.local = new MemorySpendCounter(seed);
    link.client.defineCommand("sbBudgetAdmit", { numberOfKeys: 1, lua: ADMIT });
    link.client.defineCommand("sbBudgetAdd", { numberOfKeys: 1, lua: ADD });
    this.scripts = link.client as unknown as ScriptClient;
  }

  async admit(ask: BudgetAsk): Promise<BudgetAnswer> {
    if (this.link.isUp) {
      try {
        await this.flushPending();
        return await this.admitShared(ask);
      } catch (err) {
        this.errors.report("budget_admit", err, this.policy === "open" ? "counting this key's spend in this process" : "refusing calls with a budget");
      }
    }
    if (this.policy === "closed") {
      throw gatewayError(Code.Unavailable, "budgets cannot be checked because Redis is unreachable; retry shortly", "BUDGETS_UNAVAILABLE", {}, 1_000);
    }
    return this.local.admit(ask);
  }

  async spent(keyId: string, period: Period): Promise<number> {
    if (this.link.isUp) {
      try {
        const value = await this.link.client.get(this.redisKey(keyId, period));
        if (value !== null) return Number(value) + (this.pending.get(this.redisKey(keyId, period)) ?? 0);
        return await this.seed(keyId, period.startMs, Date.now());
      } catch (err) {
        this.errors.report("budget_read", err, "showing this process's count");
      }
    }
    return this.local.spent(keyId, period);
  }

  close(): void {
    this.local.close();
  }

  private async admitShared(ask: BudgetAsk): Promise<BudgetAnswer> {
    const key = this.redisKey(ask.keyId, ask.period);
    const args = [
      wholeNanos(ask.budget.limitNanos),
      Math.floor(ask.budget.limitNanos * ask.budget.softThreshold),
      wholeNanos(ask.reserveNormal),
      ask.reserveEconomy === undefined ? -1 : wholeNanos(ask.reserveEconomy),
      ask.budget.whenExhausted === "economy_only" ? 1 : 0,
    ] as const;
    let [decision, spent, reserved] = await this.scripts.sbBudgetAdmit(key, ...args);
    if (decision === -1) {
      await this.rebuild(key, ask.keyId, ask.period);
      [decision, spent, reserved] = await this.scripts.sbBudgetAdmit(key, ...args);
    }
    const reserve = Number(reserved);
    let settled = false;
    return {
      decision: DECISIONS[decision] ?? "refused",
      spentNanos: Number(spent),
      reservedNanos: reserve,
      settle: async (costNanos) => {
        if (settled) return;
        settled = true;
        await this.addShared(key, wholeNanos(costNanos) - reserve);
      },
    };
  }

  private async addShared(key: string, delta: number): Promise<void> {
    if (delta === 0) return;
    try {
      if (!this.link.isUp) throw new Error("Redis is unreachable");
      await this.scripts.sbBudgetAdd(key, delta);
    } catch (err) {
      this.pending.set(key, (this.pending.get(key) ?? 0) + delta);
      this.errors.report("budget_settle", err, "the settlement is kept and sent when Redis works again");
    }
  }

  /** Sends settlements that failed earlier, oldest first; stops at the first failure (they stay kept). */
  private async flushPending(): Promise<void> {
    for (const [key, delta] of this.pending) {
      await this.scripts.sbBudgetAdd(key, delta);
      this.pending.delete(key);
    }
  }

  /** Seeds a missing counter from the ledger; the first instance to get there wins. */
  private async rebuild(key: string, keyId: string, period: Period): Promise<void> {
    const spent = wholeNanos(await this.seed(keyId, period.startMs, Date.now()));
    // Kept a week past the period's end, then Redis forgets it.
    const ttlMs = Math.max(period.endMs - Date.now(), 0) + 7 * 24 * 3_600_000;
    await this.link.client.set(key, String(spent), "PX", ttlMs, "NX");
  }

  private redisKey(keyId: string, period: Period): string {
    return this.link.key("spend", `{${keyId}}`, String(period.startMs));
  }
}
