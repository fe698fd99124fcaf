import { pino } from "pino";
import { DEFAULT_KEY_POOL, type KeyPoolConfig } from "../config/secrets-config.js";
import type { Logger } from "../observability/logger.js";
import { UpstreamError, type UpstreamErrorKind } from "../providers/upstream-error.js";
import { errorRate, judgeCanary, type CanaryTally } from "./canary.js";
import type { Credential } from "./credential.js";
import { RecentCounter } from "./recent-counter.js";
import type { PoolCensus, SecretMetrics } from "./secret-metrics.js";

/** How one attempt with a credential ended: success, or the classified failure. */
export type AttemptOutcome = { ok: true } | { ok: false; error: UpstreamError };

/**
 * Where a key is in its pool:
 * - active: in rotation, picked by weight;
 * - standby: a staged canary on its traffic share;
 * - cooling_down: rate limited, back in its previous state when the vendor's retry-after has passed;
 * - disabled: out of rotation, by the vendor's rejection (probed again later) or an operator (for good);
 * - draining: replaced by a promoted canary, finishing the attempts under way;
 * - retired: out of the pool for good (replaced, rolled back, superseded).
 */
export type CredentialStateName = "active" | "standby" | "cooling_down" | "disabled" | "draining" | "retired";

/** Why a key changed state: the `cause` label of the transitions metric. */
export type TransitionCause =
  | "staged"
  | "promoted"
  | "auto_promoted"
  | "rolled_back"
  | "auto_rolled_back"
  | "superseded"
  | "replaced"
  | "drained"
  | "rate_limited"
  | "quota_exhausted"
  | "cooldown_ended"
  | "credential_rejected"
  | "probe_succeeded"
  | "operator_disabled";

/** A key as the pool starts with it (from configuration). */
export interface PoolEntry {
  credential: Credential;
  weight: number;
  /** The secret reference it was read from (shown to operators; holds no secret). */
  source?: string;
  /** The Vault KV version it was read at. */
  version?: number;
  /** The configured key it fills (its id without version): new Vault versions of it replace it. */
  slot?: string;
}

export interface StageInput extends Omit<PoolEntry, "weight"> {
  /** Weight once promoted; the replaced key's (or 1) when absent. */
  weight?: number;
  /** The id of the credential this one replaces when promoted; none adds a key. */
  replaces?: string;
  /** Share of the provider's traffic while a canary; the pool's default when absent. */
  share?: number;
  /** Successful calls before automatic promotion; the pool's default when absent. */
  promoteAfter?: number;
  /** Retire a canary already staged for the same slot (a newer Vault version) instead of refusing. */
  supersede?: boolean;
}

export interface KeyPoolOptions {
  random?: () => number;
  now?: () => number;
  rules?: Partial<KeyPoolConfig>;
  /** How long a replaced key drains before it retires: the provider's attempt timeout. */
  drainMs?: number;
  logger?: Logger;
  metrics?: SecretMetrics;
  /** Hears each canary verdict on a versioned key, so it can outlive this process (see KeyVersionMemory). */
  onVerdict?: (verdict: CanaryVerdict) => void;
}

/** A staged version of a slot was promoted or rolled back. */
export interface CanaryVerdict {
  slot: string;
  version: number;
  verdict: "promoted" | "rejected";
}

/** An admin action the pool's state does not allow; `code` maps to a Connect code. */
export class KeyPoolError extends Error {
  constructor(
    readonly code: "not_found" | "already_exists" | "failed_precondition" | "invalid_argument",
    message: string,
    /** The request field at fault, for invalid_argument. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "KeyPoolError";
  }
}

/** What an operator sees of a key: never the secret. */
export interface KeyView {
  id: string;
  fingerprint: string;
  state: CredentialStateName;
  reason: string;
  since: number;
  /** When a timed state ends: a cool-down, the next probe, the end of draining. */
  nextAt: number | undefined;
  weight: number;
  trafficShare: number;
  recentSuccesses: number;
  recentErrors: number;
  source: string | undefined;
  version: number | undefined;
  slot: string | undefined;
  canary:
    | { share: number; successes: number; errors: number; promoteAfter: number; activeErrorRate: number; replaces: string | undefined; stagedAt: number }
    | undefined;
}

interface CanaryRun extends CanaryTally {
  share: number;
  promoteAfter: number;
  replaces: string | undefined;
  stagedAt: number;
  /** The weight it takes once promoted, when given. */
  weight: number | undefined;
}

interface PoolKey {
  credential: Credential;
  weight: number;
  state: CredentialStateName;
  reason: string;
  since: number;
  source: string | undefined;
  version: number | undefined;
  slot: string | undefined;
  /** cooling_down: back in rotation; disabled by the vendor: next probe; draining: retirement. */
  nextAt: number | undefined;
  /** The state a cool-down returns to. */
  resumeTo: "active" | "standby";
  disabledBy: "vendor" | "operator" | undefined;
  /** What the vendor answered when it last rejected the key ("HTTP 401, invalid_api_key"), for health checks. */
  rejectedWith: string | undefined;
  probeIntervalMs: number;
  /** When the probe under way was handed out. */
  probingSince: number | undefined;
  canary: CanaryRun | undefined;
  successes: RecentCounter;
  errors: RecentCounter;
}

/** Failures that say nothing about the key: the caller's request or cancellation. */
const NOT_THE_KEYS_FAULT = new Set<UpstreamErrorKind>(["bad_request", "content_filtered", "model_not_found", "unsupported", "cancelled"]);
const PROBE_BACKOFF_LIMIT = 16;
/** A probe whose outcome never came back (the attempt was abandoned) frees the slot after this. */
const PROBE_TIMEOUT_MS = 60_000;
const RETIRED_KEPT = 20;

/**
 * The vendor credentials of one provider, and their health. Each attempt
 * gets a key picked by weight among the active ones, a staged canary takes
 * its share of the traffic, rate-limited keys cool down, rejected keys are
 * disabled and probed again later (half-open), and canaries are promoted or
 * rolled back by the rule in `canary.ts`. Every state change is logged (key
 * id and fingerprint only) and counted.
 */
export class KeyPool {
  private readonly keys = new Map<string, PoolKey>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly rules: KeyPoolConfig;
  private readonly drainMs: number;
  private readonly logger: Logger;
  private readonly metrics: SecretMetrics | undefined;
  private readonly onVerdict: ((verdict: CanaryVerdict) => void) | undefined;

  constructor(
    readonly provider: string,
    entries: PoolEntry[],
    options: KeyPoolOptions | (() => number) = {},
  ) {
    const opts = typeof options === "function" ? { random: options } : options;
    if (entries.length === 0) throw new Error(`key pool for "${provider}" is empty`);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.rules = { ...DEFAULT_KEY_POOL, ...opts.rules };
    this.drainMs = opts.drainMs ?? 120_000;
    this.logger = (opts.logger ?? pino({ level: "silent" })).child({ component: "key-pool", provider });
    this.metrics = opts.metrics;
    this.onVerdict = opts.onVerdict;
    for (const entry of entries) {
      if (this.keys.has(entry.credential.id)) throw new Error(`key pool for "${provider}" has two keys named "${entry.credential.id}"`);
      this.keys.set(entry.credential.id, this.newKey(entry, "active", "configured"));
    }
  }

  /**
   * A credential for the next attempt:
   * 1. a disabled key whose probe is due is handed out once (half-open);
   * 2. else a healthy key: a canary on its share, the active keys by weight.
   * Keys in `exclude` (already tried) are skipped while another healthy key
   * remains; when every healthy key is excluded, one of them is returned
   * anyway (the caller sees it is in `exclude` and decides whether to retry
   * on it).
   *
   * Throws an UpstreamError, naming the provider and no secret, when no key
   * is healthy: kind "rate_limited" with `retryAfterMs` until the first
   * cool-down ends when keys are cooling down (ResourceExhausted with
   * RetryInfo on the API: the caller, or the dispatcher, may wait that long
   * or fail over); else kind "credential_rejected" (Unavailable), with
   * `retryAfterMs` until the next probe when the vendor rejected the keys,
   * and none when operators disabled or retired them all.
   */
  pick(exclude: ReadonlySet<string> = new Set()): Credential {
    const now = this.now();
    this.tick(now);
    const chosen = this.choose(exclude, now) ?? (exclude.size > 0 ? this.choose(new Set(), now) : undefined);
    if (chosen) return chosen.credential;
    throw this.unusable(now);
  }

  /** Tells the pool how an attempt with a credential went; it cools, disables, probes and judges canaries on that. */
  report(credentialId: string, outcome: AttemptOutcome): void {
    const key = this.keys.get(credentialId);
    if (!key) return;
    const now = this.now();
    this.tick(now);
    // Judged by the state the key had when the outcome came, before this outcome changes it.
    const wasActive = key.state === "active" || (key.state === "cooling_down" && key.resumeTo === "active");
    if (outcome.ok) {
      key.successes.add();
      if (key.probingSince !== undefined && key.state === "disabled") {
        key.probingSince = undefined;
        key.nextAt = undefined;
        key.probeIntervalMs = this.rules.probeAfterMs;
        this.transition(key, "active", "probe_succeeded", "a probe call succeeded");
      }
      this.tallyCanaries(key, true, wasActive);
      return;
    }
    const { kind } = outcome.error;
    const probing = key.probingSince !== undefined;
    key.probingSince = undefined;
    if (NOT_THE_KEYS_FAULT.has(kind)) return;
    key.errors.add();
    if (kind === "credential_rejected") {
      key.rejectedWith = failureCodes(outcome.error);
      this.metrics?.credentialRejections.inc({ provider: this.provider, credential: credentialId });
      this.logger.warn({ credential: credentialId, fingerprint: key.credential.fingerprint, status: outcome.error.status }, "the vendor rejected a key");
    }
    const hardFailure = kind === "credential_rejected" || kind === "quota_exhausted" ? `${describeFailure(outcome.error)}` : undefined;
    if (this.isCanary(key) && hardFailure) {
      key.canary!.errors++;
      this.rollback(credentialId, "auto_rolled_back", `canary failed: ${hardFailure}`);
      return;
    }
    switch (kind) {
      case "credential_rejected":
        if (key.state === "active" || key.state === "cooling_down") {
          key.disabledBy = "vendor";
          key.nextAt = now + key.probeIntervalMs;
          this.transition(key, "disabled", "credential_rejected", `${hardFailure}; probed again in ${seconds(key.probeIntervalMs)}`);
        } else if (key.state === "disabled" && key.disabledBy === "vendor" && probing) {
          key.probeIntervalMs = Math.min(Math.max(key.probeIntervalMs * 2, 0), this.rules.probeAfterMs * PROBE_BACKOFF_LIMIT);
          key.nextAt = now + key.probeIntervalMs;
          key.reason = `${hardFailure}; a probe failed, probed again in ${seconds(key.probeIntervalMs)}`;
          this.logger.warn({ credential: credentialId, fingerprint: key.credential.fingerprint, nextProbeInMs: key.probeIntervalMs }, "a probe of a disabled key failed");
        }
        break;
      case "rate_limited":
        this.coolDown(key, outcome.error.retryAfterMs ?? this.rules.cooldownMs, "rate_limited", now);
        break;
      case "quota_exhausted":
        this.coolDown(key, outcome.error.retryAfterMs ?? this.rules.probeAfterMs, "quota_exhausted", now);
        break;
      default:
        if (probing && key.state === "disabled") key.nextAt = now + key.probeIntervalMs; // inconclusive probe
    }
    this.tallyCanaries(key, false, wasActive);
  }

  /** Adds a key as a canary (state standby) on a share of the traffic. */
  stage(input: StageInput): KeyView {
    const now = this.now();
    this.tick(now);
    const id = input.credential.id;
    if (this.keys.has(id)) throw new KeyPoolError("already_exists", `provider "${this.provider}" already has a credential "${id}"`);
    const share = input.share ?? this.rules.canaryShare;
    if (!(share > 0 && share <= 1)) throw new KeyPoolError("invalid_argument", "the traffic share must be above 0 and at most 1");
    const promoteAfter = input.promoteAfter ?? this.rules.promoteAfter;
    if (!Number.isInteger(promoteAfter) || promoteAfter < 1) throw new KeyPoolError("invalid_argument", "promote_after must be a positive whole number");
    if (input.replaces !== undefined) {
      const replaced = this.keys.get(input.replaces);
      if (!replaced) throw new KeyPoolError("not_found", `provider "${this.provider}" has no credential "${input.replaces}" to replace`);
      if (replaced.state === "retired" || replaced.state === "draining") throw new KeyPoolError("failed_precondition", `credential "${input.replaces}" is already ${replaced.state}`);
    }
    const twin = this.holding(input.credential);
    if (twin) throw new KeyPoolError("already_exists", `the same secret is already in the pool as "${twin.id}" (${twin.state})`);
    const slot = input.slot ?? id;
    for (const other of this.keys.values()) {
      if (other.slot !== slot || !this.isCanary(other)) continue;
      if (!input.supersede) throw new KeyPoolError("failed_precondition", `a canary is already staged for "${slot}" ("${other.credential.id}"): promote or roll it back first`);
      other.canary = undefined;
      this.transition(other, "retired", "superseded", `superseded by "${id}"`);
    }
    const key = this.newKey({ ...input, weight: input.weight ?? 1, slot }, "standby", "staged");
    key.canary = {
      share,
      promoteAfter,
      replaces: input.replaces,
      stagedAt: now,
      weight: input.weight,
      successes: 0,
      errors: 0,
      hardFailure: undefined,
      activeSuccesses: 0,
      activeErrors: 0,
    };
    this.keys.set(id, key);
    this.transition(key, "standby", "staged", `staged as a canary on ${Math.round(share * 1000) / 10}% of the traffic${input.replaces ? `, to replace "${input.replaces}"` : ""}`, "none");
    this.prune();
    return this.view(key);
  }

  /** Makes a canary active now; the key it replaces drains, then retires. */
  promote(credentialId: string, cause: "promoted" | "auto_promoted" = "promoted", reason = "promoted by an operator"): { promoted: KeyView; replaced: KeyView | undefined } {
    const now = this.now();
    this.tick(now);
    const key = this.require(credentialId);
    if (!this.isCanary(key)) throw new KeyPoolError("failed_precondition", `credential "${credentialId}" is ${key.state}, not a staged canary`);
    const canary = key.canary!;
    const replaced = canary.replaces !== undefined ? this.keys.get(canary.replaces) : undefined;
    key.weight = canary.weight ?? replaced?.weight ?? key.weight;
    key.canary = undefined;
    key.nextAt = undefined;
    this.transition(key, "active", cause, reason);
    this.tell(key, "promoted");
    if (replaced && replaced.state !== "retired" && replaced.state !== "draining") {
      replaced.canary = undefined;
      if (replaced.state === "disabled" || replaced.state === "standby") {
        this.transition(replaced, "retired", "replaced", `replaced by "${credentialId}"`);
      } else {
        replaced.nextAt = now + this.drainMs;
        this.transition(replaced, "draining", "replaced", `replaced by "${credentialId}"; retires in ${seconds(this.drainMs)}`);
      }
    }
    return { promoted: this.view(key), replaced: replaced && this.view(replaced) };
  }

  /** Withdraws a canary: it retires, and the active keys keep all the traffic. */
  rollback(credentialId: string, cause: "rolled_back" | "auto_rolled_back" = "rolled_back", reason = "rolled back by an operator"): KeyView {
    const now = this.now();
    const key = this.require(credentialId);
    if (!this.isCanary(key)) throw new KeyPoolError("failed_precondition", `credential "${credentialId}" is ${key.state}, not a staged canary`);
    key.canary = undefined;
    key.nextAt = undefined;
    this.transition(key, "retired", cause, reason);
    this.tell(key, "rejected");
    this.prune();
    return this.view(key);
  }

  private tell(key: PoolKey, verdict: CanaryVerdict["verdict"]): void {
    if (key.slot !== undefined && key.version !== undefined) this.onVerdict?.({ slot: key.slot, version: key.version, verdict });
  }

  /** Takes a key out of rotation for good (no probes bring it back). */
  disable(credentialId: string, reason = "disabled by an operator"): KeyView {
    const now = this.now();
    this.tick(now);
    const key = this.require(credentialId);
    if (key.state === "retired") throw new KeyPoolError("failed_precondition", `credential "${credentialId}" is already retired`);
    if (key.state === "disabled" && key.disabledBy === "operator") return this.view(key);
    key.canary = undefined;
    key.disabledBy = "operator";
    key.nextAt = undefined;
    key.probingSince = undefined;
    this.transition(key, "disabled", "operator_disabled", reason);
    if (!this.hasUsableKey()) this.logger.warn("no usable key is left in the pool: calls to this provider fail until a key is staged");
    return this.view(key);
  }

  /**
   * Why no key can be handed out now, for health checks ("no usable key: 1
   * disabled by the vendor (HTTP 401)"); undefined while an active key or a
   * canary can take calls. A rejected key due for a probe does not count:
   * it is usable again only once a probe succeeds.
   */
  unusableReason(): string | undefined {
    this.tick(this.now());
    if ([...this.keys.values()].some((key) => key.state === "active" || key.state === "standby")) return undefined;
    return `no usable key: ${this.stateCounts(true)}`;
  }

  /** Every key (retired ones included), as an operator may see it. */
  list(): KeyView[] {
    const now = this.now();
    this.tick(now);
    return [...this.keys.values()].map((key) => this.view(key));
  }

  get(credentialId: string): KeyView | undefined {
    const key = this.keys.get(credentialId);
    return key && this.view(key);
  }

  /** The key (not retired or draining) that holds the same secret as `credential`, if any. */
  holding(credential: Credential): KeyView | undefined {
    const twin = [...this.keys.values()].find(
      (key) => key.state !== "retired" && key.state !== "draining" && key.credential.secret === credential.secret && key.credential.secondary === credential.secondary,
    );
    return twin && this.view(twin);
  }

  /** The key that fills `slot` now (active first), for a new version of it to replace. */
  holderOf(slot: string): KeyView | undefined {
    const order: CredentialStateName[] = ["active", "cooling_down", "disabled", "standby"];
    const holders = [...this.keys.values()].filter((key) => key.slot === slot && order.includes(key.state));
    holders.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
    return holders[0] && this.view(holders[0]);
  }

  census(): PoolCensus {
    const states: Record<string, number> = { active: 0, standby: 0, cooling_down: 0, disabled: 0, draining: 0, retired: 0 };
    this.tick(this.now());
    for (const key of this.keys.values()) states[key.state]!++;
    return { provider: this.provider, states };
  }

  /** Keys that are not retired. */
  get size(): number {
    return [...this.keys.values()].filter((key) => key.state !== "retired").length;
  }

  private choose(exclude: ReadonlySet<string>, now: number): PoolKey | undefined {
    const allowed = (key: PoolKey) => !exclude.has(key.credential.id);
    const probe = [...this.keys.values()].find(
      (key) => allowed(key) && key.state === "disabled" && key.disabledBy === "vendor" && key.probingSince === undefined && key.nextAt !== undefined && key.nextAt <= now,
    );
    if (probe) {
      probe.probingSince = now;
      this.logger.info({ credential: probe.credential.id, fingerprint: probe.credential.fingerprint }, "probing a disabled key (half-open)");
      return probe;
    }
    const active = [...this.keys.values()].filter((key) => allowed(key) && key.state === "active");
    const canaries = [...this.keys.values()].filter((key) => allowed(key) && key.state === "standby");
    if (active.length > 0) {
      let point = this.random();
      for (const canary of canaries) {
        if (point < canary.canary!.share) return canary;
        point -= canary.canary!.share;
      }
      return weighted(active, (key) => key.weight, this.random());
    }
    // No active key left: the canaries carry the traffic rather than nobody.
    return canaries.length > 0 ? weighted(canaries, (key) => key.canary!.share, this.random()) : undefined;
  }

  /** "2 cooling down, 1 disabled by the vendor"; with `why`, what the vendor answered too ("(HTTP 401)"). */
  private stateCounts(why: boolean): string {
    const counts = new Map<string, number>();
    for (const key of this.keys.values()) {
      let label: string = key.state === "cooling_down" ? "cooling down" : key.state;
      if (key.state === "disabled") label = key.disabledBy === "vendor" ? "disabled by the vendor" : "disabled by an operator";
      if (why && key.state === "disabled" && key.disabledBy === "vendor" && key.rejectedWith) label += ` (${key.rejectedWith})`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    return [...counts].map(([label, count]) => `${count} ${label}`).join(", ");
  }

  private unusable(now: number): UpstreamError {
    const keys = [...this.keys.values()];
    const message = `provider "${this.provider}" has no usable key right now (${this.stateCounts(false)})`;
    const cooling = keys.filter((key) => key.state === "cooling_down" && key.nextAt !== undefined);
    if (cooling.length > 0) {
      const soonest = Math.min(...cooling.map((key) => key.nextAt!));
      return new UpstreamError({ kind: "rate_limited", provider: this.provider, message, retryAfterMs: Math.max(0, soonest - now) });
    }
    const probes = keys.filter((key) => key.state === "disabled" && key.disabledBy === "vendor" && key.nextAt !== undefined).map((key) => key.nextAt!);
    const retryAfterMs = probes.length > 0 ? Math.max(0, Math.min(...probes) - now) : undefined;
    return new UpstreamError({ kind: "credential_rejected", provider: this.provider, message: probes.length > 0 ? message : `${message}; stage one with AdminService.StageKey`, retryAfterMs });
  }

  /** Applies the timed changes that are due: cool-downs that ended, drained keys, lost probes. */
  private tick(now: number): void {
    for (const key of this.keys.values()) {
      if (key.state === "cooling_down" && key.nextAt !== undefined && key.nextAt <= now) {
        key.nextAt = undefined;
        this.transition(key, key.resumeTo, "cooldown_ended", "the cool-down ended");
      } else if (key.state === "draining" && key.nextAt !== undefined && key.nextAt <= now) {
        key.nextAt = undefined;
        this.transition(key, "retired", "drained", "drained after its replacement");
      } else if (key.probingSince !== undefined && now - key.probingSince > PROBE_TIMEOUT_MS) {
        key.probingSince = undefined;
      }
    }
  }

  private coolDown(key: PoolKey, forMs: number, cause: "rate_limited" | "quota_exhausted", now: number): void {
    const benchMs = Math.min(Math.max(forMs, 0), this.rules.maxCooldownMs);
    if (benchMs <= 0) return; // configured never to bench a key: the vendor sees every call
    const until = now + benchMs;
    if (key.state === "cooling_down") {
      key.nextAt = Math.max(key.nextAt ?? until, until);
      return;
    }
    if (key.state !== "active" && key.state !== "standby") return;
    key.resumeTo = key.state;
    key.nextAt = until;
    const what = cause === "rate_limited" ? "rate limited by the vendor" : "the account's quota is exhausted";
    this.transition(key, "cooling_down", cause, `${what}; back in ${seconds(until - now)}`);
  }

  /** Counts the outcome towards every canary under way (as the canary's own, or the active keys'), then judges them. */
  private tallyCanaries(key: PoolKey, ok: boolean, countsAsActive: boolean): void {
    const canaries = [...this.keys.values()].filter((other) => this.isCanary(other));
    if (canaries.length === 0) return;
    for (const canary of canaries) {
      const run = canary.canary!;
      if (canary === key) {
        if (ok) run.successes++;
        else run.errors++;
      } else if (countsAsActive) {
        if (ok) run.activeSuccesses++;
        else run.activeErrors++;
      } else {
        continue;
      }
      const verdict = judgeCanary(run, { promoteAfter: run.promoteAfter, rollbackAfterErrors: this.rules.rollbackAfterErrors });
      if (verdict.action === "promote") this.promote(canary.credential.id, "auto_promoted", `promoted automatically: ${verdict.reason}`);
      else if (verdict.action === "rollback") this.rollback(canary.credential.id, "auto_rolled_back", `rolled back automatically: ${verdict.reason}`);
    }
  }

  private isCanary(key: PoolKey): boolean {
    return key.canary !== undefined && (key.state === "standby" || (key.state === "cooling_down" && key.resumeTo === "standby"));
  }

  private hasUsableKey(): boolean {
    return [...this.keys.values()].some(
      (key) => key.state === "active" || key.state === "standby" || key.state === "cooling_down" || (key.state === "disabled" && key.disabledBy === "vendor"),
    );
  }

  private require(credentialId: string): PoolKey {
    const key = this.keys.get(credentialId);
    if (!key) throw new KeyPoolError("not_found", `provider "${this.provider}" has no credential "${credentialId}"`);
    return key;
  }

  private newKey(entry: PoolEntry, state: CredentialStateName, reason: string): PoolKey {
    const now = this.now();
    return {
      credential: entry.credential,
      weight: entry.weight,
      state,
      reason,
      since: now,
      source: entry.source,
      version: entry.version,
      slot: entry.slot,
      nextAt: undefined,
      resumeTo: "active",
      disabledBy: undefined,
      rejectedWith: undefined,
      probeIntervalMs: this.rules.probeAfterMs,
      probingSince: undefined,
      canary: undefined,
      successes: new RecentCounter(this.now),
      errors: new RecentCounter(this.now),
    };
  }

  private transition(key: PoolKey, to: CredentialStateName, cause: TransitionCause, reason: string, from: CredentialStateName | "none" = key.state): void {
    key.state = to;
    key.reason = reason;
    key.since = this.now();
    if (to !== "disabled") key.disabledBy = undefined;
    const level = to === "disabled" || to === "cooling_down" || cause === "auto_rolled_back" ? "warn" : "info";
    this.logger[level]({ credential: key.credential.id, fingerprint: key.credential.fingerprint, from, to, cause, reason }, "key state changed");
    this.metrics?.keyTransitions.inc({ provider: this.provider, from, to, cause });
  }

  /** Forgets the oldest retired keys beyond a few, so rotations do not grow the pool for ever. */
  private prune(): void {
    const retired = [...this.keys.values()].filter((key) => key.state === "retired");
    for (const key of retired.slice(0, Math.max(0, retired.length - RETIRED_KEPT))) this.keys.delete(key.credential.id);
  }

  private view(key: PoolKey): KeyView {
    const run = key.canary;
    return {
      id: key.credential.id,
      fingerprint: key.credential.fingerprint,
      state: key.state,
      reason: key.reason,
      since: key.since,
      nextAt: key.nextAt,
      weight: key.weight,
      trafficShare: this.shareOf(key),
      recentSuccesses: key.successes.total(),
      recentErrors: key.errors.total(),
      source: key.source,
      version: key.version,
      slot: key.slot,
      canary:
        run && this.isCanary(key)
          ? {
              share: run.share,
              successes: run.successes,
              errors: run.errors,
              promoteAfter: run.promoteAfter,
              activeErrorRate: errorRate(run.activeSuccesses, run.activeErrors),
              replaces: run.replaces,
              stagedAt: run.stagedAt,
            }
          : undefined,
    };
  }

  /** The share of new attempts the key receives as the pool stands (probes aside). */
  private shareOf(key: PoolKey): number {
    const keys = [...this.keys.values()];
    const active = keys.filter((other) => other.state === "active");
    const canaries = keys.filter((other) => other.state === "standby");
    if (key.state === "standby") {
      if (active.length > 0) return Math.min(key.canary!.share, Math.max(0, 1 - shareBefore(canaries, key)));
      const total = canaries.reduce((sum, other) => sum + other.canary!.share, 0);
      return key.canary!.share / total;
    }
    if (key.state !== "active") return 0;
    const canaryShare = Math.min(1, canaries.reduce((sum, other) => sum + other.canary!.share, 0));
    const totalWeight = active.reduce((sum, other) => sum + other.weight, 0);
    return ((1 - canaryShare) * key.weight) / totalWeight;
  }
}

/** Share already taken by the canaries listed before `key` (they are tried in order). */
function shareBefore(canaries: PoolKey[], key: PoolKey): number {
  let sum = 0;
  for (const other of canaries) {
    if (other === key) break;
    sum += other.canary!.share;
  }
  return sum;
}

function weighted<T>(items: T[], weightOf: (item: T) => number, random: number): T {
  if (items.length === 1) return items[0]!;
  const total = items.reduce((sum, item) => sum + weightOf(item), 0);
  let point = random * total;
  for (const item of items) {
    point -= weightOf(item);
    if (point < 0) return item;
  }
  return items[items.length - 1]!;
}

function describeFailure(error: UpstreamError): string {
  const what = error.kind === "quota_exhausted" ? "the vendor says the account's quota is exhausted" : "rejected by the vendor";
  const codes = failureCodes(error);
  return codes ? `${what} (${codes})` : what;
}

/** What the vendor answered, as far as it said: "HTTP 401, invalid_api_key", "110", or "". */
function failureCodes(error: UpstreamError): string {
  return [error.status !== undefined ? `HTTP ${error.status}` : "", error.vendorCode ?? ""].filter(Boolean).join(", ");
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.max(0, Math.ceil(ms / 1000))}s`;
}
