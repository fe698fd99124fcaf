import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
// A cycle (budgets.ts re-exports this class): nothing from budgets.ts is used before a method runs.
import {
  MemorySpendCounter,
  runningPeriods,
  wholeNanos,
  type BudgetAnswer,
  type BudgetAsk,
  type BudgetDecision,
  type Growth,
  type Period,
  type SpendCharge,
  type SpendCounter,
  type SpendSeed,
} from "./budgets.js";
import type { KeptSettlement, KeptSettlementJournal } from "./kept-settlement-journal.js";
import { SharedSpendSeen } from "./shared-spend-seen.js";
import type { UnstoredSpend } from "./unstored-spend.js";
import { KEEP_AFTER_PERIOD_MS, LEASE_MS, MARKER_TTL_MS, SpendScripts, spendKeys, type HeldArgs, type LeaseArgs, type SpendKeys } from "./spend-scripts.js";

const DECISIONS: BudgetDecision[] = ["normal", "economy", "refused"];

/**
 * Settlements and releases kept for Redis at most; past it the oldest is
 * dropped (counted as `budget_pending_dropped` and logged): the newest are
 * the ones that matter to periods still running, and a lost release only
 * leaves a reservation to lapse with its lease. 10,000 settlements is hours
 * of one instance's calls to keys with a budget.
 *
 * Settlements the ledger is to count (kind "ledger") have a bound of their
 * own, as large: they need nothing more from Redis, so a flood of kept
 * settlements during a Redis outage must not push them out (their counter
 * would then never be read from the ledger again for them). Memory stays
 * bounded at twice the one bound. Past it, the oldest is forgotten here,
 * while its entry in Redis still holds its cost: the counter over-counts that
 * call (keys are refused early, never let past their budget) until its
 * period's keys expire.
 */
export const MAX_PENDING = 10_000;
/** A kept settlement older than this may meet no marker any more, had its first try been applied after all: it is dropped. */
const PENDING_MAX_AGE_MS = MARKER_TTL_MS - 3_600_000;
/** How often kept settlements are retried while nothing else sends them. */
const FLUSH_EVERY_MS = 2_000;
/** How many kept settlements are sent at once. */
const FLUSH_BATCH = 50;
/** How many row keys the ledger is asked about at once, for calls its rows count (kind "ledger"). */
const LEDGER_BATCH = 500;
/** How often this instance looks for counters rebuilt elsewhere while it has rows not stored yet (one GET when none was). */
const WATCH_EVERY_MS = 100;

/**
 * One settlement or release Redis has not taken yet; re-sending it is safe
 * (the scripts are idempotent). Or (kind "ledger") a settlement of a call
 * admitted before its counter's rebuild point: the ledger counts it, so the
 * counter is read from the ledger again once the call's row is stored.
 */
interface PendingOp {
  kind: "settle" | "release" | "ledger";
  keyId: string;
  period: Period;
  callId: string;
  /** The call's ledger row (its `at_ms` and `row_key`), when the caller told them: see `held`. */
  atMs?: number;
  rowKey?: string;
  /**
   * Not one call but this instance's unstored rows of calls admitted before
   * this rebuild point (see `watchRebuilds`): held until they are all stored.
   */
  unstoredBefore?: number;
  cost: number;
  /** What the call had reserved in Redis (0 for a call admitted in this process), for `spent()` meanwhile. */
  reserved: number;
  /** When it was first kept. */
  since: number;
  /** A try was sent and its outcome is unknown (a timeout is not "not executed"): it may have been applied. */
  maybeApplied: boolean;
  /** The kept spend journal's segment holding it, while kept for Redis (0 or undefined: in memory only). */
  segment?: number;
}

export interface RedisSpendCounterOptions {
  /** The clock for leases (tests move it on). */
  now?: () => number;
  /** At most this many settlements are kept for Redis (see MAX_PENDING). */
  maxPending?: number;
  /**
   * Which of these row keys the ledger's store has. Without it, settlements
   * are added to the counter whenever their call was admitted, as counters
   * without a rebuild point do.
   */
  storedRowKeys?: (rowKeys: readonly string[]) => Promise<Set<string>>;
  /**
   * The cost of this instance's ledger rows not stored yet (its ledger's
   * `unstored`): a counter rebuilt by another instance cannot read them, so
   * this one holds them in it (see `watchRebuilds`). Without it, nothing is.
   */
  unstored?: UnstoredSpend;
  /** How often counters rebuilt elsewhere are looked for (WATCH_EVERY_MS). */
  watchEveryMs?: number;
  /**
   * Where settlements kept for Redis are written down, so that a restart
   * before Redis is back sends them (what an earlier run left is taken over
   * at construction); closed with the counter. Without it, they are kept in
   * memory only.
   */
  journal?: KeptSettlementJournal;
}

/**
 * Spend counters shared by every instance in Redis, so N instances never let
 * a key spend N times its budget. A missing counter (first use in a period,
 * or a Redis that lost its data) is rebuilt from the ledger. When Redis
 * fails (unreachable, or a command errs or times out), the error is counted
 * and logged and the policy decides: "open" counts in this process (from
 * the shared figure last seen here, or the ledger's when larger: see
 * SharedSpendSeen), "closed" refuses calls with Unavailable.
 *
 * Every admission has a random call id; its reservation is an entry of its
 * own with a lease (spend-scripts.ts), settled or released by that id, once,
 * however many times the command is sent or however late Redis runs it.
 * So a settlement that failed or timed out is kept and sent again; an
 * admission that failed or timed out is released (Redis may still run it);
 * a reservation nothing settles (its instance died) lapses with its lease.
 * A further attempt of the call grows the same entry (by the same id), so
 * the one settlement drops it whole. Its growth is judged as an admission
 * is: when Redis fails, "open" judges it on this process's count (held there
 * until the call settles), "closed" does not send the attempt.
 *
 * Under policy "open", a call admitted in this process while Redis failed
 * settles here and is also kept as a settlement of its cost (an id of its
 * own, nothing reserved) for the shared counter, added when Redis works
 * again: the outage's spend is not lost, even when the instance restarts
 * first (kept settlements are written down: `journal`). During the outage
 * each of N instances admits on its own count, so a key may spend up to N
 * times what it had left when Redis failed (plus one call per instance);
 * once Redis is back every instance's spend is in the shared counter and the
 * key is refused until its period ends if it went over, so the overshoot is
 * not repeated. (Under "closed" nothing is admitted meanwhile.)
 *
 * A counter rebuilt from the ledger (Redis lost its data, or a new period)
 * has a rebuild point: the ledger counts the calls admitted before it, the
 * settlements those admitted from it on (spend-scripts.ts). A settlement of
 * a call admitted before it (kept here through the outage, or in flight when
 * Redis lost its data) adds nothing, whether or not the rebuild found its
 * row: its entry holds its cost (admissions count it) until the ledger's
 * store has the row, and then the counter is raised to what the ledger says
 * of the calls before the point and the entry dropped, in one script. So
 * whichever instance rebuilds first, no call counts twice or not at all.
 *
 * The rebuild reads the store and its own instance's unstored rows; the rows
 * still waiting in other instances' queues (settled into the counter that was
 * lost) it cannot read. So every instance watches for rebuilds (a fleet-wide
 * count each rebuild bumps, read every WATCH_EVERY_MS while it has rows not
 * stored: `startWatch`) and, for a counter rebuilt at a point it has not
 * seen, holds its own unstored cost of calls admitted before the point in
 * the counter, as one entry of its own, settled as a call admitted before
 * the point is: the counter is read from the ledger again once those rows
 * are stored, and the entry dropped (`watchRebuilds`).
 */
export class RedisSpendCounter implements SpendCounter {
  private readonly local: MemorySpendCounter;
  /** Where `local` starts when Redis fails: the shared figure last seen here, when the ledger has less. */
  private readonly seen = new SharedSpendSeen();
  private readonly scripts: SpendScripts;
  /** Settlements and releases (by call id, oldest first) waiting for Redis to take them. */
  private readonly pending = new Map<string, PendingOp>();
  /** Settlements the ledger counts (kind "ledger", by call id, oldest first), waiting for the store to have their rows. */
  private readonly heldForLedger = new Map<string, PendingOp>();
  private flushing: Promise<void> | undefined;
  private readonly retry: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly maxPending: number;
  private readonly storedRowKeys: RedisSpendCounterOptions["storedRowKeys"];
  private readonly unstored: UnstoredSpend | undefined;
  private readonly watchEveryMs: number;
  /** Runs while this instance has unstored rows, and until its first look (see `startWatch`). */
  private watch: NodeJS.Timeout | undefined;
  private readonly stopListening: () => void;
  private watching: Promise<void> | undefined;
  private readonly journal: KeptSettlementJournal | undefined;
  /** When the kept spend journal next looks for files of instances gone since (performance.now()). */
  private nextClaimMs = 0;
  /** This instance, in the ids of the entries holding its unstored cost. */
  private readonly instanceId = newCallId();
  /** The fleet's rebuild count as last watched (null: missing; undefined: never read). */
  private rebuildsSeen: string | null | undefined;
  /** Per counter (`counterId`), the rebuild point this instance's unstored cost was accounted for at (or which it rebuilt itself). */
  private readonly pointsSeen = new Map<string, string>();

  constructor(
    private readonly link: RedisLink,
    private readonly seed: SpendSeed,
    private readonly policy: "open" | "closed",
    private readonly errors: RedisErrors,
    options: RedisSpendCounterOptions = {},
  ) {
    this.local = new MemorySpendCounter(this.seen.seed(seed));
    this.scripts = new SpendScripts(link);
    this.now = options.now ?? Date.now;
    this.maxPending = options.maxPending ?? MAX_PENDING;
    this.storedRowKeys = options.storedRowKeys;
    this.unstored = options.unstored;
    this.journal = options.journal;
    this.tendJournal();
    this.retry = setInterval(() => {
      this.tendJournal();
      if (this.pendingCount > 0 && this.link.isUp) {
        this.flushPending()
          .catch((err: unknown) => this.errors.report("budget_settle", err, "kept settlements are sent again when Redis works"))
          .then(() => this.countFromLedger())
          .catch((err: unknown) => this.errors.report("budget_rebase", err, "the counter is read from the ledger again on the next try"));
      }
    }, FLUSH_EVERY_MS);
    this.retry.unref();
    this.watchEveryMs = options.watchEveryMs ?? WATCH_EVERY_MS;
    this.stopListening = this.unstored?.onNotEmpty(() => this.startWatch(true)) ?? (() => {});
    // A first look whatever there is: rows a run now gone left (replayed from the ledger's journal) may be missing from counters rebuilt since.
    if (this.unstored) this.startWatch(false);
  }

  async admit(ask: BudgetAsk): Promise<BudgetAnswer> {
    if (this.link.isUp) {
      const callId = newCallId();
      let sent = false;
      try {
        await this.flushPending();
        sent = true;
        return await this.admitShared(ask, callId);
      } catch (err) {
        this.errors.report("budget_admit", err, this.policy === "open" ? "counting this key's spend in this process" : "refusing calls with a budget");
        // Redis may run the admission yet (a timeout is not "not executed"): nothing will settle it, so it is released.
        if (sent) void this.send({ kind: "release", keyId: ask.keyId, period: ask.period, callId, cost: 0, reserved: 0, since: this.now(), maybeApplied: false });
      }
    }
    if (this.policy === "closed") throw budgetsUnavailable();
    return this.admitLocal(ask);
  }

  async spent(keyId: string, period: Period): Promise<number> {
    if (this.link.isUp) {
      try {
        const shared = await this.scripts.read(spendKeys(this.link, keyId, period.startMs, ""), this.now());
        // A kept settlement's reservation may have lapsed meanwhile: never less than what is settled.
        if (shared) return shared.settled + Math.max(shared.reserved + this.pendingSpend(keyId, period), 0);
        return await this.seed(keyId, period.startMs, Date.now());
      } catch (err) {
        this.errors.report("budget_read", err, "showing this process's count");
      }
    }
    return this.local.spent(keyId, period);
  }

  /**
   * Settles a dead process's call by its reservation's id: the reservation, if
   * its lease still holds it, is dropped and the cost added, once per id
   * however often a replay sends it (or, admitted before the counter's rebuild
   * point, counted from the ledger once its row is stored). While Redis
   * fails, it is kept and sent again (and, under "open", counted in this
   * process too).
   */
  async charge({ keyId, period, costNanos, callId, atMs, rowKey }: SpendCharge): Promise<void> {
    if (!this.link.isUp && this.policy === "open") await this.local.charge({ keyId, period, costNanos, callId });
    await this.send({ kind: "settle", keyId, period, callId, atMs, rowKey, cost: wholeNanos(costNanos), reserved: 0, since: this.now(), maybeApplied: false });
  }

  /**
   * Drops the key's shared counters and their rebuild points (reservations
   * stay), and this process's own: the next call rebuilds them from the
   * ledger. A settlement of a call admitted before the rebuild counts once,
   * as after any rebuild (see the class). Redis failing, the shared counters
   * cannot be dropped: the error says so to the caller.
   */
  async forget(keyId: string): Promise<void> {
    await this.local.forget(keyId);
    const counters = runningPeriods().map((period) => spendKeys(this.link, keyId, period.startMs, ""));
    // One command, one slot (every key is under the key's hash tag): a counter and its rebuild point go together.
    await this.link.client.del(...counters.flatMap((keys) => [keys.spent, keys.rebuilt]));
  }

  /** Only this process's count (used while Redis fails): the shared counter is forgotten once, by `forget`. */
  forgetHere(keyId: string | undefined): Promise<void> {
    return this.local.forgetHere(keyId);
  }

  close(): void {
    clearInterval(this.retry);
    this.stopListening();
    this.stopWatch();
    this.local.close();
    // Settlements still kept stay in its files, for the next start.
    this.journal?.close();
  }

  /** How many settlements and releases wait for Redis, or for the ledger to count them (for tests and diagnostics). */
  get pendingCount(): number {
    return this.pending.size + this.heldForLedger.size;
  }

  private async admitShared(ask: BudgetAsk, callId: string): Promise<BudgetAnswer> {
    const keys = spendKeys(this.link, ask.keyId, ask.period.startMs, callId);
    const args = {
      ...this.lease(ask, callId),
      soft: Math.floor(ask.budget.limitNanos * ask.budget.softThreshold),
      normal: wholeNanos(ask.reserveNormal),
      economy: ask.reserveEconomy === undefined ? -1 : wholeNanos(ask.reserveEconomy),
      economyOnly: ask.budget.whenExhausted === "economy_only",
    };
    const answer = await this.onCounter(keys, ask, () => this.scripts.admit(keys, args));
    this.seen.saw(ask.keyId, ask.period, answer.spent + answer.reserved);
    const decision = DECISIONS[answer.decision] ?? "refused";
    /** What the call holds in Redis, grown by further attempts. */
    let reserved = answer.reserved;
    /** Growths counted in this process while Redis failed (policy "open"): released when the call settles. */
    const heldHere: BudgetAnswer[] = [];
    let settled = false;
    return {
      decision,
      spentNanos: answer.spent,
      reservedNanos: reserved,
      callId,
      grow: async (nanos) => {
        const growth = wholeNanos(nanos);
        if (settled || decision === "refused") return { granted: false, spentNanos: answer.spent };
        const grown = await this.growShared(ask, decision, callId, growth);
        if (grown) {
          if (grown.granted) reserved += growth;
          return grown;
        }
        // Redis failed (policy "open"): judged on this process's count, as an admission would be, and held there until the call settles.
        const local = await this.local.admit({ ...ask, reserveNormal: growth, reserveEconomy: decision === "economy" ? growth : undefined });
        if (local.decision === "refused") return { granted: false, spentNanos: local.spentNanos };
        heldHere.push(local);
        return { granted: true, spentNanos: local.spentNanos };
      },
      settle: async (costNanos, rowKey) => {
        if (settled) return;
        settled = true;
        // The call's cost goes to the shared counter with its settlement, not to this process's count.
        for (const held of heldHere) await held.settle(0);
        const cost = wholeNanos(costNanos);
        // Nothing reserved and nothing spent (a refusal): nothing to tell Redis.
        if (cost === 0 && reserved === 0) return;
        await this.send({ kind: "settle", keyId: ask.keyId, period: ask.period, callId, atMs: ask.atMs, rowKey, cost, reserved, since: this.now(), maybeApplied: false });
      },
    };
  }

  /**
   * Grows a call's reservation in Redis, by its id (GROW in spend-scripts.ts).
   * Undefined when Redis failed and policy "open" leaves the judgement to this
   * process; under "closed", BUDGETS_UNAVAILABLE, as for an admission. A
   * growth that timed out may still be run by Redis: it is part of the call's
   * reservation then, which its settlement drops whole, so nothing is released.
   */
  private async growShared(ask: BudgetAsk, decision: BudgetDecision, callId: string, growth: number): Promise<Growth | undefined> {
    if (this.link.isUp) {
      try {
        const keys = spendKeys(this.link, ask.keyId, ask.period.startMs, callId);
        const args = { ...this.lease(ask, callId), growth, pastLimit: decision === "economy" && ask.budget.whenExhausted === "economy_only" };
        const grown = await this.onCounter(keys, ask, () => this.scripts.grow(keys, args));
        return { granted: grown.granted, spentNanos: grown.spent };
      } catch (err) {
        this.errors.report("budget_grow", err, this.policy === "open" ? "judging the call's further attempt on this process's count" : "not sending the call's further attempt");
      }
    }
    if (this.policy === "closed") throw budgetsUnavailable();
    return undefined;
  }

  /** What ADMIT and GROW are told of a call besides their own arguments: its lease, as of now, and how long its period's keys are kept. */
  private lease(ask: BudgetAsk, callId: string): LeaseArgs {
    const now = this.now();
    return { now, limit: wholeNanos(ask.budget.limitNanos), callId, leaseMs: LEASE_MS, keepMs: Math.max(ask.period.endMs - now, 0) + KEEP_AFTER_PERIOD_MS };
  }

  /** Runs a script that needs the key's spend counter (`undefined`: it is missing), rebuilding the counter from the ledger and running it again once. */
  private async onCounter<T>(keys: SpendKeys, ask: BudgetAsk, run: () => Promise<T | undefined>): Promise<T> {
    const first = await run();
    if (first) return first;
    await this.rebuild(keys, ask.keyId, ask.period);
    const again = await run();
    if (!again) throw new Error("the spend counter vanished as it was rebuilt");
    return again;
  }

  /** Admitted in this process while Redis failed: settled here, and its cost kept for the shared counter too. */
  private async admitLocal(ask: BudgetAsk): Promise<BudgetAnswer> {
    // A count kept from an earlier outage, behind what Redis said since: counted again from the later figure.
    if ((await this.local.spent(ask.keyId, ask.period)) < this.seen.of(ask.keyId, ask.period)) await this.local.forgetHere(ask.keyId);
    const answer = await this.local.admit(ask);
    let settled = false;
    return {
      ...answer,
      settle: async (costNanos, rowKey) => {
        if (settled) return;
        settled = true;
        await answer.settle(costNanos);
        const cost = wholeNanos(costNanos);
        if (cost > 0) {
          await this.send({ kind: "settle", keyId: ask.keyId, period: ask.period, callId: newCallId(), atMs: ask.atMs, rowKey, cost, reserved: 0, since: this.now(), maybeApplied: false });
        }
      },
    };
  }

  /** Sends a settlement or release now; when Redis does not take it, keeps it to send again. */
  private async send(op: PendingOp): Promise<void> {
    if (!this.link.isUp) {
      this.keep(op, new Error("Redis is unreachable"));
      return;
    }
    try {
      await this.apply(op);
    } catch (err) {
      // Sent, and failed or timed out: Redis may have run it, or may run it yet.
      op.maybeApplied = true;
      this.keep(op, err);
    }
  }

  private async apply(op: PendingOp): Promise<void> {
    const keys = spendKeys(this.link, op.keyId, op.period.startMs, op.callId);
    if (op.kind === "release") return this.scripts.release(keys, op.callId);
    const settle = () => this.scripts.settle(keys, op.callId, op.cost, this.heldArgs(op));
    let outcome = await settle();
    if (outcome === "no_counter") {
      // Rebuilt first, so that its rebuild point says whether the ledger or this settlement counts the call.
      await this.rebuild(keys, op.keyId, op.period);
      outcome = await settle();
      if (outcome === "no_counter") throw new Error("the spend counter vanished as it was rebuilt");
    }
    // Its entry holds its cost until the ledger counts it (countFromLedger).
    if (outcome === "ledger" && op.cost > 0) this.holdForLedger({ ...op, kind: "ledger", reserved: op.cost, maybeApplied: false, segment: undefined });
  }

  /** Keeps a settlement the ledger counts until the store has its row, within its own bound (see MAX_PENDING). */
  private holdForLedger(op: PendingOp): void {
    if (!this.heldForLedger.has(op.callId)) {
      while (this.heldForLedger.size >= this.maxPending) {
        const [oldest, forgotten] = this.heldForLedger.entries().next().value!;
        this.heldForLedger.delete(oldest);
        this.errors.report(
          "budget_pending_dropped",
          new Error(`more than ${this.maxPending} settlements wait for the ledger to count them`),
          `the oldest (${forgotten.cost} nano-units for key ${forgotten.keyId}) is forgotten; its entry holds its cost in the shared counter until the period's keys expire`,
        );
      }
    }
    this.heldForLedger.set(op.callId, op);
  }

  /**
   * What SETTLE judges the call by against a rebuild point: when it was
   * admitted, and how long its entry may hold its cost: as long as the
   * counter is kept, since the store may be down for hours (countFromLedger
   * drops it sooner). Undefined (added whenever admitted) when the counter
   * could not tell once its row is stored.
   */
  private heldArgs(op: PendingOp): HeldArgs | undefined {
    if (op.unstoredBefore !== undefined) {
      const now = this.now();
      // Calls admitted before the point: the ledger counts them.
      return { atMs: op.unstoredBefore - 1, now, keepMs: Math.max(op.period.endMs - now, 0) + KEEP_AFTER_PERIOD_MS };
    }
    if (op.atMs === undefined || op.rowKey === undefined || !this.storedRowKeys) return undefined;
    const now = this.now();
    return { atMs: op.atMs, now, keepMs: Math.max(op.period.endMs - now, 0) + KEEP_AFTER_PERIOD_MS };
  }

  private keep(op: PendingOp, err: unknown): void {
    const operation = op.kind === "settle" ? "budget_settle" : "budget_release";
    this.errors.report(operation, err, `the ${op.kind === "settle" ? "settlement" : "release"} is kept and sent again when Redis works`);
    this.hold(op);
  }

  /** Keeps an op for Redis (in the journal too, unless it is there already), within MAX_PENDING. */
  private hold(op: PendingOp): void {
    const existing = this.pending.get(op.callId);
    if (existing) {
      if (existing !== op) this.forgetKept(existing);
    } else {
      while (this.pending.size >= this.maxPending) {
        const dropped = this.pending.values().next().value!;
        this.forgetKept(dropped);
        this.errors.report(
          "budget_pending_dropped",
          new Error(`more than ${this.maxPending} settlements wait for Redis`),
          `the oldest (${dropped.kind}, ${dropped.cost} nano-units for key ${dropped.keyId}) is dropped; the shared counter misses it until rebuilt from the ledger`,
        );
      }
    }
    op.segment ??= this.writeDown(op);
    this.pending.set(op.callId, op);
  }

  /**
   * Writes a kept settlement down, so that a restart sends it (its segment;
   * 0 when not written). Not releases (a lost one leaves a reservation to
   * lapse with its lease), nor the entries of this instance's unstored cost
   * (a restart holds it again, from the ledger's journal: `watchRebuilds`).
   */
  private writeDown(op: PendingOp): number {
    if (!this.journal || op.kind !== "settle" || op.unstoredBefore !== undefined) return 0;
    const { keyId, period, callId, atMs, rowKey, cost, reserved, since } = op;
    return this.journal.append({ keyId, period: { startMs: period.startMs, endMs: period.endMs }, callId, atMs, rowKey, cost, reserved, since });
  }

  /** An op Redis took (or that was dropped): no longer kept, here or in the journal. */
  private forgetKept(op: PendingOp): void {
    if (this.pending.get(op.callId) === op) this.pending.delete(op.callId);
    if (op.segment) this.journal?.done(op.segment);
    op.segment = undefined;
  }

  /**
   * Keeps the settlements runs now gone kept for Redis (restarted before
   * Redis was back), to send them by their own call ids: SETTLE's marker
   * applies each once, so one that reached Redis before the crash (its file
   * not cleared yet) adds nothing again. Its outcome unknown, it counts as
   * maybe applied: past its marker's life it is dropped, never sent.
   */
  private recoverKept(): void {
    for (const { settlement, segment } of this.journal?.recover() ?? []) this.hold(keptOp(settlement, segment));
  }

  /** Renews the journal's lease; now and then, takes over the files of instances gone since (on other hosts sharing the directory). */
  private tendJournal(): void {
    if (!this.journal) return;
    this.journal.renewLease();
    if (performance.now() < this.nextClaimMs) return;
    this.nextClaimMs = performance.now() + this.journal.leaseMs;
    this.recoverKept();
  }

  /**
   * The rebuild watch runs while this instance has rows not stored (and
   * until its first look, which holds the rows a run now gone left): a
   * rebuild asks nothing of an instance without them, so an idle one sends
   * no GET. Woken by a row (`fromIdle`), it first takes the rebuilds of the
   * idle time as seen (`resumeWatch`).
   */
  private startWatch(fromIdle: boolean): void {
    if (this.watch) return;
    if (fromIdle) this.watching ??= this.look(this.resumeWatch());
    this.watch = setInterval(() => {
      if (this.unstored?.isEmpty !== false && this.rebuildsSeen !== undefined) return this.stopWatch();
      this.watching ??= this.look(this.watchRebuilds());
    }, this.watchEveryMs);
    this.watch.unref();
  }

  /** One look at a time; a failed one is counted, and the next tick looks again. */
  private look(looking: Promise<void>): Promise<void> {
    return looking
      .catch((err: unknown) => this.errors.report("budget_rebuild_watch", err, "counters rebuilt elsewhere are looked for again shortly"))
      .finally(() => (this.watching = undefined));
  }

  /**
   * The fleet's rebuild count as the watch wakes: a counter rebuilt while
   * this instance had no unstored rows missed none of them, so those
   * rebuilds count as seen, and the points seen before are forgotten (their
   * rows are stored), as a watch that had run meanwhile would have done.
   * Called as the first row is added, this GET goes out before the
   * settlement of that row's call (on the same connection, which Redis runs
   * in order): a rebuild after it is looked at by the next tick.
   */
  private async resumeWatch(): Promise<void> {
    if (!this.link.isUp) return;
    const rebuilds = await this.link.client.get(this.rebuildsKey);
    if (rebuilds === this.rebuildsSeen) return;
    this.pointsSeen.clear();
    this.rebuildsSeen = rebuilds;
  }

  private stopWatch(): void {
    clearInterval(this.watch);
    this.watch = undefined;
  }

  /** Sends what was kept, oldest first, a batch at a time; stops at the first failure (what failed stays kept). One flush at a time. */
  private flushPending(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    this.flushing ??= this.flushAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushAll(): Promise<void> {
    while (this.pending.size > 0) {
      const now = this.now();
      const batch: PendingOp[] = [];
      for (const op of this.pending.values()) {
        if (op.maybeApplied && now - op.since > PENDING_MAX_AGE_MS) {
          // Its marker may be gone: sending it again could apply it twice.
          this.forgetKept(op);
          this.errors.report("budget_pending_dropped", new Error("kept too long"), `a ${op.kind} of key ${op.keyId} that may have been applied is dropped after ${PENDING_MAX_AGE_MS} ms`);
          continue;
        }
        batch.push(op);
        if (batch.length === FLUSH_BATCH) break;
      }
      if (batch.length === 0) return;
      const results = await Promise.allSettled(batch.map((op) => this.apply(op)));
      let failure: unknown;
      results.forEach((result, i) => {
        const op = batch[i]!;
        if (result.status === "fulfilled") {
          // Unless kept again meanwhile (the same id: the same op).
          this.forgetKept(op);
        } else {
          op.maybeApplied = true;
          failure ??= result.reason;
        }
      });
      if (failure !== undefined) throw failure;
    }
  }

  /** What this process's kept settlements add to a key's spend (a kept call's reservation is still counted in Redis, or lapsed). */
  private pendingSpend(keyId: string, period: Period): number {
    let sum = 0;
    for (const op of [...this.pending.values(), ...this.heldForLedger.values()]) {
      if (op.kind !== "release" && op.keyId === keyId && op.period.startMs === period.startMs) sum += op.cost - op.reserved;
    }
    return sum;
  }

  /**
   * Seeds a missing counter from the ledger's calls admitted before now, its
   * rebuild point; the first instance to get there wins (and its point holds).
   */
  private async rebuild(keys: SpendKeys, keyId: string, period: Period): Promise<void> {
    const point = this.now();
    const spent = wholeNanos(await this.seed(keyId, period.startMs, point));
    // Kept a week past the period's end, then Redis forgets it.
    if (!(await this.scripts.rebuild(keys, spent, point, Math.max(period.endMs - point, 0) + KEEP_AFTER_PERIOD_MS))) return;
    // Its seed had this instance's unstored rows; the other instances learn of it from the fleet's count (after the point is set).
    this.pointsSeen.set(counterId(keyId, period), String(point));
    await this.link.client.incr(this.rebuildsKey);
  }

  /** Bumped by every rebuild: one read tells an instance whether any counter was rebuilt since it last looked. */
  private get rebuildsKey(): string {
    return this.link.key("spend", "rebuilds");
  }

  /**
   * When a counter was rebuilt (the fleet's count changed, or went missing with
   * Redis's data) and this instance has rows not stored yet: for each counter
   * of theirs rebuilt at a point not seen here, holds their cost of calls
   * admitted before the point, which the rebuild could not read, as one entry
   * (the ledger counts those calls: see `countFromLedger`). Idempotent by the
   * entry's id (instance and point). Rows stored meanwhile (which the rebuild
   * may have read) or admitted after the point in a minute that also holds
   * calls before it (UnstoredSpend.within) are held too: the key is refused a
   * little early until they are stored, never let past.
   */
  private async watchRebuilds(): Promise<void> {
    if (!this.unstored || !this.link.isUp) return;
    const rebuilds = await this.link.client.get(this.rebuildsKey);
    if (rebuilds === this.rebuildsSeen) return;
    const keyIds = new Set(this.unstored.keys());
    for (const counter of this.pointsSeen.keys()) if (!keyIds.has(counter.slice(0, counter.lastIndexOf("@")))) this.pointsSeen.delete(counter);
    const counters = [...keyIds].flatMap((keyId) => runningPeriods(this.now()).map((period) => ({ keyId, period })));
    const points = await Promise.all(counters.map(({ keyId, period }) => this.scripts.rebuildPoint(spendKeys(this.link, keyId, period.startMs, ""))));
    for (const [i, { keyId, period }] of counters.entries()) {
      const point = points[i];
      const counter = counterId(keyId, period);
      if (point === undefined || this.pointsSeen.get(counter) === point) continue;
      this.pointsSeen.set(counter, point);
      const cost = wholeNanos(this.unstored.within(keyId, period.startMs, Number(point)));
      if (cost === 0) continue;
      const callId = `unstored.${this.instanceId}.${point}`;
      await this.send({ kind: "settle", keyId, period, callId, unstoredBefore: Number(point), cost, reserved: 0, since: this.now(), maybeApplied: false });
    }
    this.rebuildsSeen = rebuilds;
  }

  /**
   * Settlements the ledger counts (kind "ledger") whose rows the store has
   * now: their counters are read from the ledger again, once per key and
   * period, their entries dropped, and they are done. A row the store never
   * gets (set aside) is not in the ledger's spend either: a settlement kept
   * too long is done the same way, its entry dropped rather than left to hold
   * its cost for the rest of the period.
   */
  private async countFromLedger(): Promise<void> {
    const waiting = [...this.heldForLedger.values()].slice(0, LEDGER_BATCH);
    const rowKeys = waiting.flatMap((op) => (op.rowKey === undefined ? [] : [op.rowKey]));
    const stored = rowKeys.length > 0 && this.storedRowKeys ? await this.storedRowKeys(rowKeys) : new Set<string>();
    const byCounter = new Map<string, PendingOp[]>();
    const now = this.now();
    for (const op of waiting) {
      // An instance's unstored cost before a point is stored when none of it is left (its rows stored or set aside).
      const isStored = op.unstoredBefore !== undefined ? this.unstored?.within(op.keyId, op.period.startMs, op.unstoredBefore) === 0 : stored.has(op.rowKey!);
      if (!isStored) {
        if (now - op.since <= PENDING_MAX_AGE_MS) continue;
        this.errors.report("budget_pending_dropped", new Error("its ledger row was never stored"), `a settlement of key ${op.keyId} the ledger was to count is dropped after ${PENDING_MAX_AGE_MS} ms`);
      }
      const counter = counterId(op.keyId, op.period);
      const ops = byCounter.get(counter) ?? [];
      ops.push(op);
      byCounter.set(counter, ops);
    }
    for (const ops of byCounter.values()) {
      await this.rebase(ops[0]!.keyId, ops[0]!.period, ops.map((op) => op.callId));
      for (const op of ops) if (this.heldForLedger.get(op.callId) === op) this.heldForLedger.delete(op.callId);
    }
  }

  /**
   * Reads the ledger again for the calls admitted before the counter's rebuild
   * point, raises the counter to it and drops the entries that held the costs
   * of `callIds` (stored rows). A counter missing now is rebuilt, when next
   * needed, from a ledger that has the rows stored so far.
   */
  private async rebase(keyId: string, period: Period, callIds: readonly string[]): Promise<void> {
    const keys = spendKeys(this.link, keyId, period.startMs, "");
    for (let tries = 0; tries < 3; tries++) {
      const point = await this.scripts.rebuildPoint(keys);
      if (point === undefined) return;
      const spent = wholeNanos(await this.seed(keyId, period.startMs, Number(point)));
      if ((await this.scripts.rebase(keys, point, spent, callIds)) !== "stale") return;
    }
    throw new Error(`the spend counter of key ${keyId} was rebuilt again while it was read from the ledger`);
  }
}

/** A settlement an earlier run kept, kept again here: perhaps applied (its last try's outcome is unknown). */
function keptOp(settlement: KeptSettlement, segment: number): PendingOp {
  return { kind: "settle", ...settlement, segment, maybeApplied: true };
}

/** A key's counter of one period, as this process names it. */
function counterId(keyId: string, period: Period): string {
  return `${keyId}@${period.startMs}`;
}

function budgetsUnavailable(): Error {
  return gatewayError(Code.Unavailable, "budgets cannot be checked because Redis is unreachable; retry shortly", "BUDGETS_UNAVAILABLE", {}, 1_000);
}

/** A random id for one admission or one settlement: 72 bits, base64url (no `{`, `}` or `~`). */
function newCallId(): string {
  return randomBytes(9).toString("base64url");
}
