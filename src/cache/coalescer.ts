import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import { DEFAULT_CACHE } from "../config/cache-config.js";
import { startTimer, type StartTimer, type Timer } from "../gateway/timers.js";
import type { CacheKey } from "./cache-key.js";
import type { RedisTier } from "./redis-tier.js";

/** How a call joined the identical calls in flight. */
export type Joined =
  /** Another call's answer (coalesced). */
  | { kind: "answer"; plain: Uint8Array }
  /** The entry kept in Redis (L2), read in the same step as the lock: a hit. */
  | { kind: "stored"; plain: Uint8Array }
  /** This call makes the vendor call; identical calls wait for it. */
  | { kind: "lead"; lead: Lead }
  /** The call waited on got no answer to share: call the vendor as usual. */
  | { kind: "alone" };

export interface Lead {
  /**
   * The Redis lock's token, when this instance holds the lock for the fleet,
   * or may (Redis did not answer the SET in time, and may apply it later):
   * the L2 write or an unlock frees it, only if it is still this token's.
   */
  readonly token?: string;
  /** The answer advanced (a streamed event came in from the vendor): the calls waiting on it wait on, up to `stallMs` from now. */
  progress(): void;
  /** Hands the answer, or nothing, to the calls waiting on this one in this process. Once; later calls do nothing. */
  finish(plain?: Uint8Array): void;
}

export interface CoalescerOptions {
  /** The longest a call waits for an identical one in this process before calling the vendor itself. */
  waitMs: number;
  /**
   * The longest the calls waiting on a leader whose answer has begun (a
   * stream's first event) wait for its next event: past it the leader is
   * stalled (its vendor, or its client, for which the stream is read), and
   * they go their own way. The configuration's default when unset.
   */
  stallMs?: number;
  /**
   * The longest a call waits for another instance's answer (never more than
   * `waitMs`); also the fleet lock's lifetime, so a lock its owner could not
   * free (Redis too slow to answer) holds identical calls up no longer.
   */
  remoteWaitMs: number;
  /** The fleet's lock and entries; in-process only without it. */
  remote?: RedisTier;
  now?: () => number;
  /** The waits' timers (the test's clock in tests). */
  timer?: StartTimer;
}

interface Flight {
  done: Promise<Uint8Array | undefined>;
  resolve(plain: Uint8Array | undefined): void;
  startedAt: number;
  /** When the leader's answer last advanced; undefined until it begins (a unary answer comes whole, and never does). */
  progressedAt?: number;
  /** Lets the waiting calls go once the begun answer stops advancing for `stallMs`. */
  watchdog?: Timer;
  /** The fleet lock's token, when the leader holds it (or may): freed when the leader stalls, so other instances' waiters go too. */
  token?: string;
  /** Ended (answered, given nothing, or stalled): the leader's later events change nothing. */
  over: boolean;
}

/** Who waits: its cancellation and deadline (epoch ms) end the wait. */
type Caller = { signal: AbortSignal; deadline?: number };

/** Polling for another instance's answer: first after this long, doubling up to the most. */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/**
 * Request coalescing: identical calls in flight at the same moment make one
 * vendor call. In a process, the first call leads and the others wait on its
 * flight; across instances, the first to take a short Redis lock leads, and
 * one call per other instance polls Redis for the answer on behalf of the
 * calls waiting there. Every wait is bounded (`waitMs`, `remoteWaitMs` for
 * another instance, the caller's deadline, its cancellation); a leader that
 * fails, whose answer may not be shared, or whose begun answer stalls
 * (`stallMs` without an event) lets the waiting calls go their own way.
 * With Redis, a call's L2 read and its fleet lock are one script: a
 * cacheable miss waits one round trip on Redis before its vendor call, so a
 * slow Redis adds one round trip, never a wait per step. When Redis does not
 * answer in time, the call leads at once: a stalled Redis costs fleet-wide
 * coalescing, never a wait.
 */
export class Coalescer {
  private readonly flights = new Map<string, Flight>();
  private waiters = 0;
  private readonly now: () => number;
  private readonly timer: StartTimer;
  private readonly stallMs: number;

  constructor(private readonly options: CoalescerOptions) {
    this.now = options.now ?? Date.now;
    this.timer = options.timer ?? startTimer;
    this.stallMs = options.stallMs ?? DEFAULT_CACHE.coalesce.stallMs;
  }

  private get remoteWaitMs(): number {
    return Math.min(this.options.remoteWaitMs, this.options.waitMs);
  }

  /** Calls waiting for an identical call's answer in this process now. */
  get waiting(): number {
    return this.waiters;
  }

  /** Whether `join` reads the entry in Redis (L2) itself, with its lock: the caller then does not read it first. */
  get readsRemote(): boolean {
    return this.options.remote !== undefined;
  }

  /**
   * Joins the identical call in flight in this process; else, with Redis,
   * reads the entry kept there and, where there is none, joins or leads the
   * identical call in flight in the fleet, in one round trip. `open` turns an
   * entry in Redis into the answer's bytes (undefined if it cannot).
   * Throws the caller's abort reason if it gives up while waiting, and
   * DeadlineExceeded when its deadline ends the wait.
   */
  async join(key: CacheKey, caller: Caller, open: (sealed: Buffer) => Uint8Array | undefined): Promise<Joined> {
    const inFlight = this.flights.get(key.id);
    // A flight older than any wait is one whose leader never said it ended: lead a new one rather than wait on it.
    if (inFlight && this.now() - inFlight.startedAt <= this.options.waitMs) {
      const plain = await this.waitFor(inFlight.done, caller);
      return plain ? { kind: "answer", plain } : { kind: "alone" };
    }
    const flight = newFlight(this.now());
    this.flights.set(key.id, flight);
    const lead = (token?: string): Lead => {
      flight.token = token;
      return { token, progress: () => this.progressed(key, flight), finish: (plain) => this.end(key, flight, plain) };
    };
    const remote = this.options.remote;
    if (!remote) return { kind: "lead", lead: lead() };
    try {
      let claim = await remote.claim(key, this.remoteWaitMs);
      if (claim.kind === "stored") {
        const stored = open(claim.entry);
        if (stored) {
          this.end(key, flight, stored);
          return { kind: "stored", plain: stored };
        }
        // An entry that does not open (sealed under another secret, or past its time) is a miss: lead for the fleet. Rare, so a second round trip.
        claim = await remote.lock(key, this.remoteWaitMs);
      }
      // "skipped": Redis was not asked. "unknown": this call may hold the lock (Redis may apply the script late), and must never wait on it.
      if (claim.kind === "skipped") return { kind: "lead", lead: lead() };
      if (claim.kind !== "busy") return { kind: "lead", lead: lead(claim.token) };
      // Another instance leads: this call waits for its answer on behalf of every identical call here.
      const plain = await this.waitRemote(remote, key, caller, open);
      if (plain) {
        this.end(key, flight, plain);
        return { kind: "answer", plain };
      }
      return { kind: "lead", lead: lead() };
    } catch (err) {
      this.end(key, flight, undefined);
      throw err;
    }
  }

  /** The leader's answer advanced: its waiting calls wait `stallMs` more, watched from its first event on. */
  private progressed(key: CacheKey, flight: Flight): void {
    if (flight.over) return;
    flight.progressedAt = this.now();
    // One timer per flight, re-armed when it fires rather than at every event (events come by the hundred).
    flight.watchdog ??= this.timer(this.stallMs, () => this.watch(key, flight));
  }

  private watch(key: CacheKey, flight: Flight): void {
    const quietMs = this.now() - flight.progressedAt!;
    if (quietMs < this.stallMs) return flight.watchdog!.restart(this.stallMs - quietMs);
    // Stalled: the waiting calls go their own way, new ones lead afresh, and other instances' waiters see the lock go.
    this.end(key, flight, undefined);
    if (flight.token) void this.options.remote?.unlock(key, flight.token);
  }

  /** Ends a flight for the calls waiting on it, with the answer or nothing; once. */
  private end(key: CacheKey, flight: Flight, plain: Uint8Array | undefined): void {
    if (this.flights.get(key.id) === flight) this.flights.delete(key.id);
    flight.watchdog?.stop();
    flight.over = true;
    flight.resolve(plain);
  }

  private async waitFor(done: Promise<Uint8Array | undefined>, caller: Caller): Promise<Uint8Array | undefined> {
    const untilDeadline = (caller.deadline ?? Infinity) - this.now();
    if (untilDeadline <= 0) throw deadlinePassed();
    // The caller's deadline ends the wait when it comes first: the call then ends, having no time left for a vendor call.
    const byDeadline = untilDeadline < this.options.waitMs;
    const waitMs = byDeadline ? untilDeadline : this.options.waitMs;
    if (waitMs <= 0) return undefined;
    this.waiters++;
    let timer: Timer | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        done,
        new Promise<undefined>((resolve, reject) => (timer = this.timer(waitMs, () => (byDeadline ? reject(deadlinePassed()) : resolve(undefined))))),
        new Promise<never>((_, reject) => {
          onAbort = () => reject(caller.signal.reason);
          if (caller.signal.aborted) onAbort();
          else caller.signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      this.waiters--;
      timer?.stop();
      if (onAbort) caller.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Polls Redis until the leader's entry is there, its lock is gone without one, or the wait is over. */
  private async waitRemote(remote: RedisTier, key: CacheKey, caller: Caller, open: (sealed: Buffer) => Uint8Array | undefined): Promise<Uint8Array | undefined> {
    const deadline = caller.deadline ?? Infinity;
    const until = Math.min(this.now() + this.remoteWaitMs, deadline);
    this.waiters++;
    try {
      for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
        const state = await remote.poll(key);
        if (state?.entry) return open(state.entry);
        if (!state?.locked) return undefined;
        const leftMs = until - this.now();
        if (leftMs <= 0) {
          if (until === deadline) throw deadlinePassed();
          return undefined;
        }
        await this.sleep(Math.min(delay, leftMs), caller.signal);
      }
    } finally {
      this.waiters--;
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        timer.stop();
        reject(signal.reason);
      };
      const timer = this.timer(ms, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function newFlight(startedAt: number): Flight {
  let resolve!: (plain: Uint8Array | undefined) => void;
  const done = new Promise<Uint8Array | undefined>((r) => (resolve = r));
  return { done, resolve, startedAt, over: false };
}

function deadlinePassed(): ConnectError {
  return gatewayError(Code.DeadlineExceeded, "the caller's deadline passed while it waited for an identical call's answer", "DEADLINE_EXCEEDED");
}
