import type { CacheKey } from "./cache-key.js";
import type { RedisTier } from "./redis-tier.js";

/** How a call joined the identical calls in flight. */
export type Joined =
  /** Another call's answer (coalesced). */
  | { kind: "answer"; plain: Uint8Array }
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
  /** Hands the answer, or nothing, to the calls waiting on this one in this process. Once; later calls do nothing. */
  finish(plain?: Uint8Array): void;
}

export interface CoalescerOptions {
  /** The longest a call waits for an identical one in this process before calling the vendor itself. */
  waitMs: number;
  /**
   * The longest a call waits for another instance's answer (never more than
   * `waitMs`); also the fleet lock's lifetime, so a lock its owner could not
   * free (Redis too slow to answer) holds identical calls up no longer.
   */
  remoteWaitMs: number;
  /** The fleet's lock and entries; in-process only without it. */
  remote?: RedisTier;
  now?: () => number;
}

interface Flight {
  done: Promise<Uint8Array | undefined>;
  resolve(plain: Uint8Array | undefined): void;
  startedAt: number;
}

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
 * fails, or whose answer may not be shared, lets the waiting calls go their
 * own way. When Redis does not answer the lock in time, the call leads at
 * once: a slow Redis costs fleet-wide coalescing, never a wait.
 */
export class Coalescer {
  private readonly flights = new Map<string, Flight>();
  private waiters = 0;
  private readonly now: () => number;

  constructor(private readonly options: CoalescerOptions) {
    this.now = options.now ?? Date.now;
  }

  private get remoteWaitMs(): number {
    return Math.min(this.options.remoteWaitMs, this.options.waitMs);
  }

  /** Calls waiting for an identical call's answer in this process now. */
  get waiting(): number {
    return this.waiters;
  }

  /**
   * Joins the identical call in flight, or leads one. `open` turns an entry
   * another instance stored into the answer's bytes (undefined if it cannot).
   * Throws the caller's abort reason if it gives up while waiting.
   */
  async join(key: CacheKey, caller: { signal: AbortSignal; deadline?: number }, open: (sealed: Buffer) => Uint8Array | undefined): Promise<Joined> {
    const inFlight = this.flights.get(key.id);
    // A flight older than any wait is one whose leader never said it ended: lead a new one rather than wait on it.
    if (inFlight && this.now() - inFlight.startedAt <= this.options.waitMs) {
      const plain = await this.waitFor(inFlight.done, caller);
      return plain ? { kind: "answer", plain } : { kind: "alone" };
    }
    const flight = newFlight(this.now());
    this.flights.set(key.id, flight);
    const finish = (plain?: Uint8Array): void => {
      if (this.flights.get(key.id) === flight) this.flights.delete(key.id);
      flight.resolve(plain);
    };
    const remote = this.options.remote;
    if (!remote?.isUp) return { kind: "lead", lead: { finish } };
    try {
      const lock = await remote.lock(key, this.remoteWaitMs);
      // "unknown": this call may hold the lock (Redis may apply the SET late), and must never wait on it.
      if (lock.kind !== "busy") return { kind: "lead", lead: { token: lock.token, finish } };
      // Another instance leads: this call waits for its answer on behalf of every identical call here.
      const plain = await this.waitRemote(remote, key, caller, open);
      if (plain) {
        finish(plain);
        return { kind: "answer", plain };
      }
      return { kind: "lead", lead: { finish } };
    } catch (err) {
      finish(undefined);
      throw err;
    }
  }

  private async waitFor(done: Promise<Uint8Array | undefined>, caller: { signal: AbortSignal; deadline?: number }): Promise<Uint8Array | undefined> {
    const waitMs = Math.min(this.options.waitMs, (caller.deadline ?? Infinity) - this.now());
    if (waitMs <= 0) return undefined;
    this.waiters++;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        done,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs))),
        new Promise<never>((_, reject) => {
          onAbort = () => reject(caller.signal.reason);
          if (caller.signal.aborted) onAbort();
          else caller.signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      this.waiters--;
      clearTimeout(timer);
      if (onAbort) caller.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Polls Redis until the leader's entry is there, its lock is gone without one, or the wait is over. */
  private async waitRemote(
    remote: RedisTier,
    key: CacheKey,
    caller: { signal: AbortSignal; deadline?: number },
    open: (sealed: Buffer) => Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    const until = Math.min(this.now() + this.remoteWaitMs, caller.deadline ?? Infinity);
    this.waiters++;
    try {
      for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
        const state = await remote.poll(key);
        if (state?.entry) return open(state.entry);
        if (!state?.locked || this.now() + delay > until) return undefined;
        await sleep(delay, caller.signal);
      }
    } finally {
      this.waiters--;
    }
  }
}

function newFlight(startedAt: number): Flight {
  let resolve!: (plain: Uint8Array | undefined) => void;
  const done = new Promise<Uint8Array | undefined>((r) => (resolve = r));
  return { done, resolve, startedAt };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
