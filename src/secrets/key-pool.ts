import { pino } from "pino";
import { DEFAULT_KEY_POOL, type KeyPoolConfig } from "../config/secrets-config.js";
import { DEFAULT_TRAFFIC, type BreakerConfig } from "../config/traffic.js";
import type { Logger } from "../observability/logger.js";
import type { UpstreamError } from "../providers/upstream-error.js";
import { CanaryOddOneOut } from "./canary-odd-one-out.js";
import { CanaryRollout, holderOfSecret, type CanaryVerdict, type StageInput } from "./canary-rollout.js";
import type { Credential } from "./credential.js";
import { KeyHealth, type AttemptOutcome } from "./key-health.js";
import { KeyOddOneOut } from "./key-odd-one-out.js";
import { KeyPoolError } from "./key-pool-error.js";
import { pickKey, pickOnProbation } from "./key-selection.js";
import { noUsableKey, stateCounts, viewOf, type KeyView } from "./key-views.js";
import { changeState, isCanary, newPoolKey, type CredentialStateName, type PoolContext, type PoolEntry, type PoolKey } from "./pool-key.js";
import type { PoolCensus, SecretMetrics } from "./secret-metrics.js";
import { unknownCredential } from "./unknown-credential.js";

export type { CanaryVerdict, StageInput } from "./canary-rollout.js";
export type { AttemptOutcome } from "./key-health.js";
export { KeyPoolError } from "./key-pool-error.js";
export type { KeyView } from "./key-views.js";
export type { CredentialStateName, PoolEntry, TransitionCause } from "./pool-key.js";

export interface KeyPoolOptions {
  random?: () => number;
  /**
   * The clock every duration is measured on (cool-downs, probes, drains, canary windows, recent counts):
   * monotonic, `performance.now()` by default, so that a step of the wall clock (an NTP step after a VM
   * resumes, a manual correction) neither stretches nor cuts a bench.
   */
  now?: () => number;
  /** Wall time (epoch ms), only to show when a state began or ends (`KeyView`); `now` when only that is given (tests), else Date.now. */
  wallNow?: () => number;
  rules?: Partial<KeyPoolConfig>;
  /** When a key counts as failing at the vendor: the circuit breakers' rule (`traffic.breaker`); the shipped defaults when absent. */
  breaker?: BreakerConfig;
  /** How long a replaced key drains before it retires: the provider's attempt timeout. */
  drainMs?: number;
  logger?: Logger;
  metrics?: SecretMetrics;
  /** Hears each canary verdict, so it can outlive this process (KeyVersionMemory, KeyRotationRecords). */
  onVerdict?: (verdict: CanaryVerdict) => void;
}

/**
 * The vendor credentials of one provider, and their health. Each attempt
 * gets a key picked by weight among the active ones (`key-selection.ts`), a
 * staged canary takes its share of the traffic and is promoted or rolled
 * back (`canary-rollout.ts`), and the outcome of every attempt is the one
 * judge of a key's health (`key-health.ts`): rate-limited keys cool down,
 * rejected keys are disabled and probed again later, keys that keep failing
 * at the vendor are benched, then come back on probation, and a key answered
 * 404 (or 400, …) for a model the other keys serve is benched as the odd one
 * out (`key-odd-one-out.ts`). Every state change is logged (key id and
 * fingerprint only) and counted.
 */
export class KeyPool {
  private readonly keys = new Map<string, PoolKey>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly logger: Logger;
  private readonly ctx: PoolContext;
  private readonly health: KeyHealth;
  private readonly rollout: CanaryRollout;
  private readonly oddOneOut = new CanaryOddOneOut();
  private readonly keyOddOneOut: KeyOddOneOut;
  private readonly rules: KeyPoolConfig;

  /**
   * `entries` may be empty: a provider whose configured keys have no version to start on is built
   * empty, its recorded rotations re-applied, and refused only if still no key serves (ProviderPools).
   */
  constructor(
    readonly provider: string,
    entries: PoolEntry[],
    options: KeyPoolOptions | (() => number) = {},
  ) {
    const opts = typeof options === "function" ? { random: options } : options;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? opts.now ?? Date.now;
    this.logger = (opts.logger ?? pino({ level: "silent" })).child({ component: "key-pool", provider });
    const rules = (this.rules = { ...DEFAULT_KEY_POOL, ...opts.rules });
    const breaker = opts.breaker ?? DEFAULT_TRAFFIC.breaker;
    const ctx = (this.ctx = { provider, keys: this.keys, now: this.now, logger: this.logger, metrics: opts.metrics, restoring: false, cause: undefined });
    this.keyOddOneOut = new KeyOddOneOut(this.now);
    const newKey = (entry: PoolEntry, state: CredentialStateName, reason: string) =>
      newPoolKey(entry, state, reason, this.now, { probeAfterMs: rules.probeAfterMs, windowMs: breaker.windowMs });
    this.health = new KeyHealth(ctx, rules, breaker);
    this.rollout = new CanaryRollout(ctx, { rules, drainMs: opts.drainMs ?? 120_000, newKey, onVerdict: opts.onVerdict });
    for (const entry of entries) {
      if (this.keys.has(entry.credential.id)) throw new Error(`key pool for "${provider}" has two keys named "${entry.credential.id}"`);
      this.keys.set(entry.credential.id, newKey(entry, "active", "configured"));
    }
  }

  /**
   * A credential for the next attempt:
   * 1. a key due a probe is handed out once (half-open): a disabled key
   *    after its wait, a key back from failing on probation;
   * 2. else a healthy key: a canary on its share, the active keys by weight
   *    (a key on probation only when no other is left).
   * Keys in `exclude` (already tried) are skipped while another healthy key
   * remains; when every healthy key is excluded, one of them is returned
   * anyway (the caller sees it is in `exclude` and decides whether to retry
   * on it). A probe goes out with a credential object of its own, and every
   * credential handed out is stamped with the key's generation (key-generation.ts):
   * report the outcome with the credential returned here (see `report`).
   *
   * Throws an UpstreamError, naming the provider and no secret, when no key
   * is healthy: kind "rate_limited" with `retryAfterMs` until the first
   * cool-down ends when keys are cooling down (ResourceExhausted with
   * RetryInfo on the API: the caller, or the dispatcher, may wait that long
   * or fail over; "overloaded" when they are all benched for failing); else
   * kind "credential_rejected" (Unavailable), with `retryAfterMs` until the
   * next probe when the vendor rejected the keys; when operators disabled or
   * retired them all, with reason NO_PROVIDER_AVAILABLE instead (key-views.ts).
   */
  pick(exclude: ReadonlySet<string> = new Set()): Credential {
    const now = this.now();
    this.tick(now);
    const keys = [...this.keys.values()];
    const untried = exclude.size > 0 ? keys.filter((key) => !exclude.has(key.credential.id)) : keys;
    const chosen = this.choose(untried, now) ?? (untried !== keys ? this.choose(keys, now) : undefined) ?? pickOnProbation(keys, this.random)?.handedOut;
    if (chosen) return chosen;
    throw noUsableKey(this.provider, keys, now);
  }

  /**
   * Tells the pool how an attempt with a credential went; it cools, disables, benches, probes and judges
   * canaries on that. `sentWith` is the credential `pick` handed out for the attempt (or its id): only the
   * very one handed out as a probe settles that probe, and a rejection counts only against the generation of the
   * key it was handed out in (not once a probe restored the key since), so pass the credential itself. An answer about the
   * request (400, a model's 404, …) says nothing about a key on its own, but a canary answered so clearly
   * more often than the active keys is rolled back (canary-odd-one-out.ts), and an active key answered so
   * clearly more often than the other keys on the same model is benched (key-odd-one-out.ts).
   */
  report(sentWith: Credential | string, outcome: AttemptOutcome): void {
    const key = this.keys.get(typeof sentWith === "string" ? sentWith : sentWith.id);
    if (!key) return;
    const now = this.now();
    this.tick(now);
    // After the timed changes that were due anyway: what this outcome changes is logged with its call's ids.
    this.ctx.cause = outcome.call;
    try {
      this.hear(key, outcome, now, typeof sentWith === "string" ? undefined : sentWith);
    } finally {
      this.ctx.cause = undefined;
    }
  }

  /**
   * Gives back a credential `pick` handed out that goes to no attempt after all (the call's retry budget,
   * deadline or breaker stopped it, or the call had tried the key already). Nothing was sent, so nothing is
   * judged; but a probe's place is freed at once, where it would otherwise be held until the probe is given
   * up as lost (a minute), keeping a rejected key or one on probation out of rotation that long.
   */
  release(handedOut: Credential): void {
    const key = this.keys.get(handedOut.id);
    if (key) this.health.release(key, handedOut);
  }

  private hear(key: PoolKey, outcome: AttemptOutcome, now: number, sentWith: Credential | undefined): void {
    // Judged by the state the key had when the outcome came, before this outcome changes it.
    const wasActive = key.state === "active" || (key.state === "cooling_down" && key.resumeTo === "active");
    this.oddOneOut.hear(this.keys.values(), key, outcome, wasActive);
    this.keyOddOneOut.hear([...this.keys.values()], key, outcome);
    const verdict = this.health.hear(key, outcome, now, sentWith);
    if (typeof verdict === "object") return this.rollout.refused(key, verdict.canaryRefused);
    if (verdict !== "ignored") this.rollout.tally(key, verdict === "success", wasActive, now, outcome.call?.requestId);
    else if (!outcome.ok && isCanary(key)) this.judgeOddOneOut(key, outcome.error);
    else if (!outcome.ok && key.state === "active") this.benchOddOneOut(key, outcome.error, outcome.model, now);
    if (isCanary(key)) this.undecidedTooLong(key);
  }

  /**
   * A key in rotation, other than those in `exclude` (already tried), that served `model` lately: for a
   * call one key answered 404 for the model (its project may lack what the others' have). Undefined when
   * none does; no probe is handed out here.
   */
  pickServing(model: string, exclude: ReadonlySet<string>): Credential | undefined {
    this.tick(this.now());
    const serving = [...this.keys.values()].filter((key) => !exclude.has(key.credential.id) && this.keyOddOneOut.served(model, key));
    return pickKey(serving, this.random)?.handedOut;
  }

  /** Adds a key as a canary (state standby) on a share of the traffic. */
  stage(input: StageInput): KeyView {
    const now = this.now();
    this.tick(now);
    return this.view(this.rollout.stage(input, now));
  }

  /** Makes a canary active now; the key it replaces drains, then retires. */
  promote(credentialId: string, cause: "promoted" | "auto_promoted" = "promoted", reason = "promoted by an operator"): { promoted: KeyView; replaced: KeyView | undefined } {
    const now = this.now();
    this.tick(now);
    const key = this.require(credentialId);
    const replaced = this.rollout.promote(key, cause, reason, now);
    return { promoted: this.view(key), replaced: replaced && this.view(replaced) };
  }

  /**
   * Runs `work`, which re-applies the rotations recorded before this start (at start, before the pool
   * serves): its state changes read "restored from a rotation recorded before this start: …", are
   * logged with cause `restored` and not counted as transitions, and its verdicts keep the recorded ones.
   */
  async restoring<T>(work: () => Promise<T>): Promise<T> {
    this.ctx.restoring = true;
    try {
      return await work();
    } finally {
      this.ctx.restoring = false;
    }
  }

  /** Withdraws a canary: it retires, and the active keys keep all the traffic. */
  rollback(credentialId: string, cause: "rolled_back" | "auto_rolled_back" = "rolled_back", reason = "rolled back by an operator"): KeyView {
    const key = this.require(credentialId);
    this.rollout.rollback(key, cause, reason);
    return this.view(key);
  }

  /** Takes a key out of rotation for good (no probes bring it back). */
  disable(credentialId: string, reason = "disabled by an operator"): KeyView {
    this.tick(this.now());
    const key = this.require(credentialId);
    if (key.state === "retired") throw new KeyPoolError("failed_precondition", `credential "${credentialId}" is already retired`);
    if (key.state === "disabled" && key.disabledBy === "operator") return this.view(key);
    key.canary = undefined;
    key.disabledBy = "operator";
    key.nextAt = undefined;
    key.probes = [];
    changeState(this.ctx, key, "disabled", "operator_disabled", reason);
    if (!this.hasUsableKey()) this.logger.warn("no usable key is left in the pool: calls to this provider fail until a key is staged");
    return this.view(key);
  }

  /** Retires a key at once, without draining: a rotation recorded before a restart replaced it, and nothing of it is under way. */
  retire(credentialId: string, reason: string): KeyView {
    const key = this.require(credentialId);
    if (key.state === "retired") return this.view(key);
    key.canary = undefined;
    key.nextAt = undefined;
    key.probes = [];
    changeState(this.ctx, key, "retired", "replaced", reason);
    return this.view(key);
  }

  /** Drops a retired key, so that its id can be staged again (a canary rolled back here that the fleet promoted meanwhile). */
  forgetRetired(credentialId: string): void {
    if (this.keys.get(credentialId)?.state === "retired") this.keys.delete(credentialId);
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
    return `no usable key: ${stateCounts([...this.keys.values()], true)}`;
  }

  /** Every key (retired ones included), as an operator may see it. */
  list(): KeyView[] {
    this.tick(this.now());
    return [...this.keys.values()].map((key) => this.view(key));
  }

  get(credentialId: string): KeyView | undefined {
    const key = this.keys.get(credentialId);
    return key && this.view(key);
  }

  /** The credential of a key, to match its secret against those operators disabled (never shown). */
  credentialOf(credentialId: string): Credential | undefined {
    return this.keys.get(credentialId)?.credential;
  }

  /** The key (not retired or draining) that holds the same secret as `credential`, if any. */
  holding(credential: Credential): KeyView | undefined {
    const twin = holderOfSecret(this.keys.values(), credential);
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

  /** Rolls back a canary whose answers about the request (400, a model's 404, …) stand out against the active keys'. */
  private judgeOddOneOut(key: PoolKey, error: UpstreamError): void {
    const odd = this.oddOneOut.judge(key, error.kind, this.rules.rollbackAfterErrors);
    if (!odd) return;
    const status = error.status !== undefined ? `, HTTP ${error.status}` : "";
    this.rollout.rollback(key, "auto_rolled_back", `rolled back automatically: it fails where the active keys succeed (${odd.detail}${status})`);
  }

  /** Benches an active key whose answers about the request stand out against the other keys' on the same model. */
  private benchOddOneOut(key: PoolKey, error: UpstreamError, model: string | undefined, now: number): void {
    const odd = this.keyOddOneOut.judge(key, model, error.kind, this.rules.rollbackAfterErrors);
    if (!odd) return;
    const status = error.status !== undefined ? `, HTTP ${error.status}` : "";
    this.health.benchOddOneOut(key, `${odd.detail}${status}`, now);
  }

  /** Rolls back a canary that has taken three times promote_after calls, counting its answers about the request beyond the active keys' rate. */
  private undecidedTooLong(key: PoolKey): void {
    const run = key.canary!;
    const beyond = this.oddOneOut.excess(run);
    if (beyond.calls === 0) return;
    const calls = run.successes + run.errors + beyond.calls;
    if (calls < run.promoteAfter * 3) return;
    const reason = `${calls} calls without qualifying for promotion, ${beyond.calls} of them answered ${beyond.kinds.join(", ")} where the active keys are not`;
    this.rollout.rollback(key, "auto_rolled_back", `rolled back automatically: ${reason}`);
  }

  private choose(keys: readonly PoolKey[], now: number): Credential | undefined {
    return this.health.takeProbe(keys, now) ?? pickKey(keys, this.random)?.handedOut;
  }

  /** Applies the timed changes that are due: cool-downs that ended, drained keys, lost probes. */
  private tick(now: number): void {
    for (const key of this.keys.values()) {
      this.health.tick(key, now);
      this.rollout.tick(key, now);
    }
  }

  private hasUsableKey(): boolean {
    return [...this.keys.values()].some(
      (key) => key.state === "active" || key.state === "standby" || key.state === "cooling_down" || (key.state === "disabled" && key.disabledBy === "vendor"),
    );
  }

  private require(credentialId: string): PoolKey {
    const key = this.keys.get(credentialId);
    if (!key) throw unknownCredential(this.provider, credentialId, this.keys.values());
    return key;
  }

  /** A key as operators see it, its times on the wall clock as it reads now. */
  private view(key: PoolKey): KeyView {
    const offset = this.wallNow() - this.now();
    return viewOf(key, [...this.keys.values()], (monotonic) => Math.round(monotonic + offset));
  }
}
