import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError, reasonOf } from "../../common/gateway-error.js";
import type { Surface } from "../../observability/tracing.js";
import type { CallRecord } from "./call-record.js";

/** A call to the AI surfaces as it finished, for live views: no content, only what the log line says and what it cost. */
export interface FinishedCall {
  requestId: string;
  /** Epoch ms. */
  finishMs: number;
  /** Undefined when the call was refused before it was authenticated. */
  keyId?: string;
  team?: string;
  surface: Surface;
  method: string;
  requestedModel?: string;
  provider?: string;
  model?: string;
  /** "ok" or the Connect code's name. */
  status: string;
  errorReason?: string;
  latencyMs: number;
  firstTokenMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  costNanos?: number;
  cached: boolean;
  downgraded: boolean;
  attempts?: number;
}

export interface CallFeedOptions {
  /** Calls a watcher may have waiting; one that falls further behind is cut off. */
  queueSize?: number;
  /** Watchers at once; more are refused. */
  maxWatchers?: number;
  /** Watchers one key may have at once, so that one key cannot take every place. */
  maxWatchersPerKey?: number;
  /** Watchers the admin keys of one team may have at once, so that one tenant's keys cannot take every place. */
  maxWatchersPerTeam?: number;
  /**
   * Places only keys without a team (the master key, gateway-wide admin keys)
   * may take: however many teams watch, the operator can still watch. A
   * quarter of maxWatchers by default.
   */
  placesKeptForGatewayAdmins?: number;
  /**
   * Of those, places only the master key may take: however many gateway-wide
   * admin keys (read-only dashboards, say) watch, the operator's own key can
   * still watch. maxWatchersPerKey by default (at most placesKeptForGatewayAdmins).
   */
  placesKeptForMasterKey?: number;
}

/** Who watches, and what is needed to end its watch at the key's expiry. */
export interface WatchOptions {
  /** The watching key's team: undefined for the master key and admin keys without a team. */
  team?: string;
  /** Whether the watching key is the master key, which alone may take the places kept for it. */
  master?: boolean;
  /** The watching key's expiry time, and the error its watch ends with then. */
  expiry?: { atMs: number; error: Error };
}

interface Watcher {
  /** The gateway key watching. */
  keyId: string;
  team?: string;
  master: boolean;
  matches(call: FinishedCall): boolean;
  queue: FinishedCall[];
  wake?: () => void;
  /** The timer that ends the watch at its key's expiry, if the key has one. */
  expiring?: { cancel(): void };
  /** Set when the watch ends: undefined for a clean end (shutdown), an error for a cut-off. */
  ended?: { error?: Error };
}

/**
 * Broadcasts calls as they finish to whoever watches (AdminService.WatchCalls).
 * Costs a call nothing while no one watches: the call log asks `watched`
 * before it builds anything. Each watcher has a bounded queue; one that falls
 * behind is dropped rather than slowing calls or growing memory.
 */
export class CallFeed {
  private readonly watchers = new Set<Watcher>();
  private readonly queueSize: number;
  private readonly maxWatchers: number;
  private readonly maxWatchersPerKey: number;
  private readonly maxWatchersPerTeam: number;
  /** The places keys of teams may take, all teams together. */
  private readonly maxTeamWatchers: number;
  /** The places every key but the master key may take, all together. */
  private readonly maxOtherWatchers: number;
  private closed = false;

  constructor(options: CallFeedOptions = {}) {
    this.queueSize = options.queueSize ?? 512;
    this.maxWatchers = options.maxWatchers ?? 32;
    this.maxWatchersPerKey = options.maxWatchersPerKey ?? 4;
    this.maxWatchersPerTeam = options.maxWatchersPerTeam ?? 8;
    const kept = options.placesKeptForGatewayAdmins ?? Math.floor(this.maxWatchers / 4);
    if (!(kept >= 0 && kept < this.maxWatchers)) throw new RangeError(`placesKeptForGatewayAdmins must be from 0 to maxWatchers - 1, not ${kept}`);
    this.maxTeamWatchers = this.maxWatchers - kept;
    const keptForMaster = options.placesKeptForMasterKey ?? Math.min(this.maxWatchersPerKey, kept);
    if (!(keptForMaster >= 0 && keptForMaster <= kept)) throw new RangeError(`placesKeptForMasterKey must be from 0 to placesKeptForGatewayAdmins (${kept}), not ${keptForMaster}`);
    this.maxOtherWatchers = this.maxWatchers - keptForMaster;
  }

  /** Whether anyone watches: the only cost a call pays otherwise. */
  get watched(): boolean {
    return this.watchers.size > 0;
  }

  publish(call: FinishedCall): void {
    for (const watcher of this.watchers) {
      if (!watcher.matches(call)) continue;
      if (watcher.queue.length >= this.queueSize) {
        this.end(watcher, gatewayError(Code.ResourceExhausted, `the watcher fell more than ${this.queueSize} calls behind and was cut off; watch again`, "WATCHER_TOO_SLOW"));
        continue;
      }
      watcher.queue.push(call);
      watcher.wake?.();
    }
  }

  /** The keys that watch now. */
  watchingKeys(): Set<string> {
    return new Set([...this.watchers].map((watcher) => watcher.keyId));
  }

  /** Ends one key's watches with `error` (the key was revoked, expired, or lost its admin rights). */
  endWatchesOf(keyId: string, error: Error): void {
    for (const watcher of this.watchers) if (watcher.keyId === keyId) this.end(watcher, error);
  }

  /**
   * Ends one key's watches at `expiry` instead of the expiry they had (none: not
   * at any time): the key's expiry was changed, sooner or later, after they opened.
   */
  setExpiryOf(keyId: string, expiry: WatchOptions["expiry"]): void {
    for (const watcher of this.watchers) if (watcher.keyId === keyId) this.armExpiry(watcher, expiry);
  }

  /**
   * The calls that match, as they finish, until the signal fires or the feed
   * closes; throws when the watcher falls behind, or at `expiry` (the
   * watching key's expiry time) with its error.
   */
  async *watch(keyId: string, matches: (call: FinishedCall) => boolean, signal: AbortSignal, options: WatchOptions = {}): AsyncGenerator<FinishedCall> {
    if (this.closed) return;
    const { team, expiry, master = false } = options;
    this.checkRoom(keyId, team, master);
    const watcher: Watcher = { keyId, team, master, matches, queue: [] };
    this.watchers.add(watcher);
    const stop = (): void => this.end(watcher);
    signal.addEventListener("abort", stop, { once: true });
    this.armExpiry(watcher, expiry);
    try {
      for (;;) {
        const next = watcher.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (watcher.ended) {
          if (watcher.ended.error) throw watcher.ended.error;
          return;
        }
        await new Promise<void>((resolve) => (watcher.wake = resolve));
        watcher.wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      watcher.expiring?.cancel();
      this.watchers.delete(watcher);
    }
  }

  private armExpiry(watcher: Watcher, expiry: WatchOptions["expiry"]): void {
    watcher.expiring?.cancel();
    watcher.expiring = expiry && endAt(expiry.atMs, () => this.end(watcher, expiry.error));
  }

  /**
   * Refuses a watch past the bounds: every watcher's, the key's, its team's,
   * the teams' together (the rest is kept for keys without a team), and every
   * key's but the master key's together (the rest is kept for it).
   */
  private checkRoom(keyId: string, team: string | undefined, master: boolean): void {
    const watchers = [...this.watchers];
    if (watchers.length >= this.maxWatchers) {
      throw gatewayError(Code.ResourceExhausted, `${this.maxWatchers} watchers already follow this instance's calls; try again later`, "TOO_MANY_WATCHERS");
    }
    if (watchers.filter((other) => other.keyId === keyId).length >= this.maxWatchersPerKey) {
      throw gatewayError(Code.ResourceExhausted, `key "${keyId}" already has ${this.maxWatchersPerKey} watchers on this instance's calls; end one first`, "TOO_MANY_WATCHERS", { key: keyId });
    }
    if (!master && watchers.filter((other) => !other.master).length >= this.maxOtherWatchers) {
      throw gatewayError(Code.ResourceExhausted, `the ${this.maxOtherWatchers} places for watchers other than the master key on this instance's calls are taken; try again later`, "TOO_MANY_WATCHERS", {
        key: keyId,
      });
    }
    if (team === undefined) return;
    if (watchers.filter((other) => other.team === team).length >= this.maxWatchersPerTeam) {
      throw gatewayError(Code.ResourceExhausted, `the keys of team "${team}" already have ${this.maxWatchersPerTeam} watchers on this instance's calls; end one first`, "TOO_MANY_WATCHERS", {
        key: keyId,
        team,
      });
    }
    if (watchers.filter((other) => other.team !== undefined).length >= this.maxTeamWatchers) {
      throw gatewayError(Code.ResourceExhausted, `the ${this.maxTeamWatchers} places for teams' watchers on this instance's calls are taken; try again later`, "TOO_MANY_WATCHERS", { key: keyId });
    }
  }

  /** Ends every watch (shutdown: streams must not hold the drain) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) this.end(watcher);
  }

  private end(watcher: Watcher, error?: Error): void {
    if (watcher.ended) return;
    watcher.ended = { error };
    // A cut-off watcher's backlog is dropped: it learns at once, and the memory goes.
    if (error) watcher.queue.length = 0;
    this.watchers.delete(watcher);
    watcher.wake?.();
  }
}

/** The longest delay a Node timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `end` at epoch time `atMs`, however far off. */
function endAt(atMs: number, end: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const wait = atMs - Date.now();
    if (wait <= 0) return end();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/** The calls live views follow: the AI surfaces, not health checks, reflection or the AdminService (a console's own polling). */
const AI_CALLS = /^(switchboard\.v1\.AIService\/|REST )/;

/** A finished call as the feed carries it; undefined for calls it does not carry. */
export function finishedCall(record: CallRecord, error: ConnectError | undefined, status: string, latencyMs: number, firstTokenMs: number | undefined): FinishedCall | undefined {
  if (!AI_CALLS.test(record.method)) return undefined;
  const report = record.report;
  return {
    requestId: record.requestId,
    finishMs: Date.now(),
    keyId: record.principal?.keyId,
    team: record.principal?.team,
    surface: record.surface,
    method: record.method,
    requestedModel: report?.requestedModel,
    provider: report?.provider,
    model: report?.model,
    status,
    errorReason: error ? (reasonOf(error) ?? status.toUpperCase()) : undefined,
    latencyMs,
    firstTokenMs,
    promptTokens: report?.inputTokens,
    completionTokens: report?.outputTokens,
    costNanos: report?.costNanos,
    cached: report?.cache === "hit",
    downgraded: report?.downgraded ?? false,
    attempts: report?.attempts,
  };
}
