import { SlidingCounts } from "../common/sliding-window.js";
import type { Logger } from "../observability/logger.js";
import type { CanaryTally } from "./canary.js";
import type { Credential } from "./credential.js";
import { nextGeneration, stampedHandle } from "./key-generation.js";
import { RecentCounter } from "./recent-counter.js";
import type { SecretMetrics } from "./secret-metrics.js";

/**
 * Where a key is in its pool:
 * - active: in rotation, picked by weight;
 * - standby: a staged canary on its traffic share;
 * - cooling_down: benched for a while (rate limited, out of quota, failing at the vendor, or answered where the other keys
 *   are served: the odd one out), then back in its previous state;
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
  | "failing"
  | "odd_one_out"
  | "cooldown_ended"
  | "credential_rejected"
  | "probe_succeeded"
  | "operator_disabled";

/** Why a cooling key is benched; it decides how the key comes back. */
export type BenchCause = "rate_limited" | "quota_exhausted" | "failing" | "odd_one_out";

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

/**
 * A probe handed out: its handle (the key's credential, as an object of its own, which the attempt
 * reports its outcome with) and when (a probe never reported frees its place after a while).
 */
export interface ProbeOut {
  handle: Credential;
  handedOutAt: number;
}

/** A canary under way: its terms and its tally so far. */
export interface CanaryRun extends CanaryTally {
  share: number;
  promoteAfter: number;
  replaces: string | undefined;
  stagedAt: number;
  /** The weight it takes once promoted, when given. */
  weight: number | undefined;
}

/** One key of a pool, as the pool's parts (selection, health, rollout, views) share it. */
export interface PoolKey {
  credential: Credential;
  /** The generation of the key's state (key-generation.ts): new when it joins the pool and each time a probe restores it. */
  generation: number;
  /** What picks hand out in this generation: the credential, stamped with it (a probe gets a handle of its own). */
  handedOut: Credential;
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
  /** What a cool-down under way is for. */
  benchedFor: BenchCause | undefined;
  disabledBy: "vendor" | "operator" | undefined;
  /** What the vendor answered when it last rejected the key ("HTTP 401, invalid_api_key"), for health checks. */
  rejectedWith: string | undefined;
  probeIntervalMs: number;
  /** The probes under way (a rejected key's, or one on probation): only their own outcomes settle them. */
  probes: ProbeOut[];
  /** Recent vendor-side outcomes, for the failing rule: successes (0) and failures (1). */
  outcomes: SlidingCounts;
  /** Vendor-side failures in a row. */
  failureStreak: number;
  /** Back from a bench for failing: it takes only probes, and its next outcome decides whether it stays. */
  probation: boolean;
  canary: CanaryRun | undefined;
  successes: RecentCounter;
  errors: RecentCounter;
}

/** What the pool's parts share: its keys, its clock (monotonic: every time in a PoolKey is on it), and where state changes are logged and counted. */
export interface PoolContext {
  readonly provider: string;
  readonly keys: Map<string, PoolKey>;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: SecretMetrics | undefined;
  /** While rotations recorded before this start are re-applied (KeyPool.restoring): state changes are restored, not made. */
  restoring: boolean;
  /** While the pool takes in an attempt's outcome (KeyPool.report): the call it belonged to, named on the lines that outcome causes. */
  cause: CausingCall | undefined;
}

/** The call an attempt belonged to, for the lines its outcome causes (a key disabled, benched, rolled back): joined to its own line and trace. */
export interface CausingCall {
  requestId?: string;
  traceId?: string;
}

/** What a log line about a key says of it: its id and fingerprint (never the secret), and the call that caused the line, if one did. */
export function aboutKey(ctx: PoolContext, key: PoolKey): Record<string, string> {
  const fields: Record<string, string> = {};
  if (ctx.cause?.requestId !== undefined) fields.requestId = ctx.cause.requestId;
  if (ctx.cause?.traceId !== undefined) fields.traceId = ctx.cause.traceId;
  fields.credential = key.credential.id;
  fields.fingerprint = key.credential.fingerprint;
  return fields;
}

/** How a key's state re-applied from a rotation recorded before this start reads (its reason follows). */
export const RESTORED = "restored from a rotation recorded before this start";

export function newPoolKey(entry: PoolEntry, state: CredentialStateName, reason: string, now: () => number, settings: { probeAfterMs: number; windowMs: number }): PoolKey {
  const generation = nextGeneration();
  return {
    credential: entry.credential,
    generation,
    handedOut: stampedHandle(entry.credential, generation),
    weight: entry.weight,
    state,
    reason,
    since: now(),
    source: entry.source,
    version: entry.version,
    slot: entry.slot,
    nextAt: undefined,
    resumeTo: "active",
    benchedFor: undefined,
    disabledBy: undefined,
    rejectedWith: undefined,
    probeIntervalMs: settings.probeAfterMs,
    probes: [],
    outcomes: new SlidingCounts(settings.windowMs, now),
    failureStreak: 0,
    probation: false,
    canary: undefined,
    successes: new RecentCounter(now),
    errors: new RecentCounter(now),
  };
}

/** Starts a new generation of the key (a probe restored it): rejections of attempts handed out before no longer count. */
export function renewGeneration(key: PoolKey): void {
  key.generation = nextGeneration();
  key.handedOut = stampedHandle(key.credential, key.generation);
}

/**
 * Moves a key to another state; every change is logged (key id and fingerprint only, and the call whose attempt caused it) and counted. A change
 * re-applied from a rotation recorded before this start is logged with cause `restored` and not counted:
 * the instance that made it counted it then, and a restart is no rotation.
 */
export function changeState(ctx: PoolContext, key: PoolKey, to: CredentialStateName, cause: TransitionCause, reason: string, from: CredentialStateName | "none" = key.state): void {
  key.state = to;
  key.reason = ctx.restoring ? `${RESTORED}: ${reason}` : reason;
  key.since = ctx.now();
  if (to !== "disabled") key.disabledBy = undefined;
  if (to !== "cooling_down") key.benchedFor = undefined;
  const level = to === "disabled" || to === "cooling_down" || cause === "auto_rolled_back" ? "warn" : "info";
  const logged = { ...aboutKey(ctx, key), from, to, cause: ctx.restoring ? "restored" : cause, reason: key.reason };
  ctx.logger[level](logged, "key state changed");
  if (!ctx.restoring) ctx.metrics?.keyTransitions.inc({ provider: ctx.provider, from, to, cause });
}

/** A staged canary (cooling down or not) that has not been promoted or rolled back yet. */
export function isCanary(key: PoolKey): boolean {
  return key.canary !== undefined && (key.state === "standby" || (key.state === "cooling_down" && key.resumeTo === "standby"));
}

/** Whether the key takes part in the traffic as the pool stands: an active key or a canary. */
export function inRotation(key: PoolKey): boolean {
  return key.state === "active" || key.state === "standby";
}

/** "45s", "2 min": how long until something, for reasons and logs. */
export function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.max(0, Math.ceil(ms / 1000))}s`;
}
