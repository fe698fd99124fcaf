import type { KeyBudget } from "../auth/key-policy.js";
import type { BudgetPeriodName } from "../config/usage-config.js";

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
  /** When the call was admitted: its ledger row's `atMs` (a shared counter rebuilt from the ledger tells by it whether the ledger counts the call). */
  atMs?: number;
}

export interface BudgetAnswer {
  decision: BudgetDecision;
  /** Spent in the period before this call, reservations of calls in flight included. */
  spentNanos: number;
  /** What was reserved for this call at admission. */
  reservedNanos: number;
  /** The reservation's id on a shared counter (Redis), by which a later `charge` settles it should this process die first. */
  callId?: string;
  /**
   * Grows the reservation by `nanos` for another attempt of the call (a
   * retry after a cut one, a hedge), atomically, when the budget would admit
   * the call now were it not admitted yet (`mayGrow`); the grown reservation
   * is what `settle` replaces. Resolves with whether it grew and the spend it was
   * judged on (reservations of calls in flight included).
   */
  grow(nanos: number): Promise<Growth>;
  /**
   * Replaces the reservation with the call's real cost, on the counter that
   * made it (Redis, or this process when Redis failed; the shared counter
   * then gets the cost too once Redis works again). Settling twice changes
   * nothing. `rowKey` names the call's ledger row (see SpendCharge).
   */
  settle(costNanos: number, rowKey?: string): Promise<void>;
}

export interface Growth {
  granted: boolean;
  spentNanos: number;
}

export interface SpendCharge {
  keyId: string;
  period: Period;
  costNanos: number;
  callId: string;
  /** The call's ledger row: when it was admitted and its `rowKey`, by which a shared counter rebuilt from the ledger counts it once. */
  atMs?: number;
  rowKey?: string;
}

/** Reads what a key spent in a period from the usage ledger (rows before `beforeMs`). */
export type SpendSeed = (keyId: string, sinceMs: number, beforeMs: number) => Promise<number>;

/**
 * Spend per key and period. A call reserves an upper bound of its cost when
 * it is admitted, grows it before each further attempt that may add to its
 * cost, and settles with the real cost, so calls in flight count: a key
 * overshoots its budget by at most one call's reservation (grown by its
 * further attempts), however many instances serve it. All amounts are whole nano-units.
 */
export interface SpendCounter {
  admit(ask: BudgetAsk): Promise<BudgetAnswer>;
  /**
   * Adds the cost of a call that no settlement will come for (the process
   * serving it ended; replayed from the ledger's journal), once: called before
   * its ledger row is stored, so that a count rebuilt from the ledger does not
   * have it yet. On a shared counter it settles the call's reservation by
   * `callId` (dropping it if it is still held; applied once per id).
   */
  charge(charge: SpendCharge): Promise<void>;
  spent(keyId: string, period: Period): Promise<number>;
  /**
   * Drops a key's spend figures (of every period running now), called when
   * its budget changes (added, removed, or its period): calls made meanwhile
   * never reserved or settled into them, so the next call rebuilds them from
   * the ledger, as for a figure that does not exist yet. Reservations of
   * calls in flight are kept.
   */
  forget(keyId: string): Promise<void>;
  /**
   * Drops what this process alone keeps of a key's spend (every key's when
   * `keyId` is undefined), on news that it may have changed, from this
   * instance or another: so that a budget changed elsewhere is not judged on a
   * figure this process kept. A shared counter is left alone: `forget`, called
   * once by the instance that changed the budget, drops it, and dropping it
   * again for each instance that hears the news would lose the spend settled
   * into its rebuild meanwhile.
   */
  forgetHere(keyId: string | undefined): Promise<void>;
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

/** The periods running at `now` of every length a budget may have: the ones a key's spend figures may be kept for. */
export function runningPeriods(now = Date.now()): Period[] {
  const periods = (["day", "week", "month"] as const).map((name) => currentPeriod(name, now));
  return periods.filter((period, i) => periods.findIndex((other) => other.startMs === period.startMs) === i);
}

/** The one rule, also written in Lua (ADMIT in spend-scripts.ts): soft threshold → economy, limit → refuse (or economy only). */
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

/**
 * Whether a call already admitted may reserve more for another attempt: as
 * `decide` would admit it now were it not admitted yet, judged on the spend
 * without its own reservation (under the limit; past it too for an economy
 * call in economy-only mode). A call's attempts are judged as one call, the
 * way its admission was: so the budget is passed by at most one call's
 * reservation, grown, and a call that alone holds the rest of the budget may
 * still be tried again. Also written in Lua (GROW in spend-scripts.ts).
 */
export function mayGrow(spentByOthers: number, budget: KeyBudget, economy: boolean): boolean {
  return spentByOthers < budget.limitNanos || (economy && budget.whenExhausted === "economy_only");
}

interface Entry {
  spent: number;
  ready: Promise<void>;
  endMs: number;
  /** Reservations of calls in flight that this entry holds (carried to the entry that replaces it once forgotten). */
  inFlight: number;
  /** The entry rebuilt after this one was forgotten: its calls in flight reserve and settle there. */
  successor?: Entry;
}

/** The entry a call admitted on `entry` counts on now: the latest of those that replaced it. */
function live(entry: Entry): Entry {
  while (entry.successor) entry = entry.successor;
  return entry;
}

/** Spend counted in this process, rebuilt from the ledger the first time a key is seen in a period. */
export class MemorySpendCounter implements SpendCounter {
  private readonly entries = new Map<string, Entry>();
  /** Forgotten entries (see `forget`) not rebuilt yet, whose calls in flight the rebuilt entry takes over. */
  private readonly forgotten = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly seed: SpendSeed) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const map of [this.entries, this.forgotten]) for (const [key, entry] of map) if (entry.endMs <= now) map.delete(key);
    }, 60_000);
    this.sweeper.unref();
  }

  async admit(ask: BudgetAsk): Promise<BudgetAnswer> {
    const entry = await this.entry(ask.keyId, ask.period);
    const spent = entry.spent;
    const { decision, reserve: admitted } = decide(spent, ask);
    /** The reservation, grown by further attempts. */
    let reserve = admitted;
    entry.spent += reserve;
    entry.inFlight += reserve;
    let settled = false;
    return {
      decision,
      spentNanos: spent,
      reservedNanos: reserve,
      grow: async (nanos) => {
        const counted = await this.seeded(entry);
        const before = counted.spent;
        if (settled || decision === "refused" || !mayGrow(before - reserve, ask.budget, decision === "economy")) return { granted: false, spentNanos: before };
        const more = wholeNanos(nanos);
        counted.spent += more;
        counted.inFlight += more;
        reserve += more;
        return { granted: true, spentNanos: before };
      },
      settle: async (costNanos) => {
        if (settled) return;
        settled = true;
        // The entry of a period that ended meanwhile is gone from the map: the change is harmless there. One forgotten and not
        // rebuilt yet takes nothing: the call's ledger row, written just before, is in what the rebuild reads.
        const counted = live(entry);
        counted.inFlight -= reserve;
        if (counted.successor === undefined && this.forgotten.get(idOf(ask.keyId, ask.period)) === counted) return;
        counted.spent += wholeNanos(costNanos) - reserve;
      },
    };
  }

  async spent(keyId: string, period: Period): Promise<number> {
    return (await this.entry(keyId, period)).spent;
  }

  async charge({ keyId, period, costNanos }: SpendCharge): Promise<void> {
    // A period that is over is never asked about again; a key first seen now is seeded from a ledger without this row.
    if (costNanos <= 0 || period.endMs <= Date.now()) return;
    (await this.entry(keyId, period)).spent += wholeNanos(costNanos);
  }

  async forget(keyId: string): Promise<void> {
    for (const period of runningPeriods()) this.drop(idOf(keyId, period));
  }

  /** In this process, the figures are all there is: as `forget`, for one key or every key. */
  async forgetHere(keyId: string | undefined): Promise<void> {
    if (keyId !== undefined) return this.forget(keyId);
    for (const id of [...this.entries.keys()]) this.drop(id);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** An entry forgotten: the next call rebuilds it, taking over its calls in flight. */
  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.forgotten.set(id, entry);
  }

  /** The key's entry once its spend is read; never one forgotten meanwhile, whose successor would not carry what is added to it now. */
  private async entry(keyId: string, period: Period): Promise<Entry> {
    const id = idOf(keyId, period);
    for (;;) {
      const entry = this.entries.get(id) ?? this.rebuild(id, keyId, period);
      await entry.ready;
      if (this.entries.get(id) === entry) return entry;
    }
  }

  /** The entry a call admitted on `entry` counts on now, its spend read (or as it stands, should the ledger fail to be read). */
  private async seeded(entry: Entry): Promise<Entry> {
    for (;;) {
      const counted = live(entry);
      await counted.ready.catch(() => {});
      if (live(entry) === counted) return counted;
    }
  }

  private rebuild(id: string, keyId: string, period: Period): Entry {
    // Rows written from now on are this process's calls, already counted here.
    const createdAt = Date.now();
    // Calls in flight on a forgotten entry keep their reservations here, and settle here (their rows are not read below).
    const replaced = this.forgotten.get(id);
    this.forgotten.delete(id);
    const carried = replaced ? live(replaced).inFlight : 0;
    const created: Entry = {
      spent: carried,
      inFlight: carried,
      endMs: period.endMs,
      ready: this.seed(keyId, period.startMs, createdAt).then(
        (seeded) => {
          created.spent += wholeNanos(seeded);
        },
        (err: unknown) => {
          this.entries.delete(id);
          this.forgotten.set(id, created);
          throw err;
        },
      ),
    };
    if (replaced) live(replaced).successor = created;
    this.entries.set(id, created);
    return created;
  }
}

function idOf(keyId: string, period: Period): string {
  return `${keyId}@${period.startMs}`;
}
