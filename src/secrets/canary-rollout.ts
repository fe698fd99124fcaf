import type { KeyPoolConfig } from "../config/secrets-config.js";
import { judgeCanary } from "./canary.js";
import { FailedCalls } from "./canary-failed-calls.js";
import { canaryOnTrial } from "./canary-on-trial.js";
import type { Credential } from "./credential.js";
import { KeyPoolError } from "./key-pool-error.js";
import { changeState, isCanary, seconds, type CanaryRun, type CredentialStateName, type PoolContext, type PoolEntry, type PoolKey } from "./pool-key.js";
import { SecretHeldAlready } from "./secret-held-already.js";
import { unknownCredential } from "./unknown-credential.js";

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

/** A staged key (a version of a slot, or an operator's key) was promoted or rolled back. */
export interface CanaryVerdict {
  slot: string;
  /** The version judged; none for an unversioned source (env:, file:). */
  version: number | undefined;
  verdict: "promoted" | "rejected";
  /** The credential judged ("openai/key-2025-06"). */
  credential: string;
  /** promoted: the slot of the key it replaced, if any. */
  replacedSlot?: string;
  /** rejected: the key it was staged to replace (its pool id), if any: what an instance that takes the fleet's promotion instead replaces. */
  wouldReplace?: string;
  /** How it was judged ("auto_promoted", "promoted automatically: …"); none when re-applied at start (the record keeps its own). */
  cause?: "promoted" | "auto_promoted" | "rolled_back" | "auto_rolled_back";
  reason?: string;
}

export interface RolloutOptions {
  rules: KeyPoolConfig;
  /** How long a replaced key drains before it retires. */
  drainMs: number;
  newKey: (entry: PoolEntry, state: CredentialStateName, reason: string) => PoolKey;
  onVerdict: ((verdict: CanaryVerdict) => void) | undefined;
}

const RETIRED_KEPT = 20;

/**
 * Canary rollout in a pool: a staged key takes a share of the traffic beside
 * the active ones; every outcome is tallied for it and for the active keys
 * over the same time, and the rule in `canary.ts` promotes it (the key it
 * replaces drains, then retires) or rolls it back. Verdicts on versioned
 * keys are told to `onVerdict`, so they outlive the process.
 */
export class CanaryRollout {
  /** Each canary run's failed calls so far, so a call counts once however many attempts it made. */
  private readonly failed = new WeakMap<CanaryRun, FailedCalls>();

  constructor(
    private readonly ctx: PoolContext,
    private readonly options: RolloutOptions,
  ) {}

  stage(input: StageInput, now: number): PoolKey {
    const { provider, keys } = this.ctx;
    const { rules } = this.options;
    const id = input.credential.id;
    const existing = keys.get(id);
    if (existing) {
      const taken = `provider "${provider}" already has a credential "${id}"`;
      // The same secret under the same id (a configured key named as a recorded rotation's): that key holds it.
      const same = holderOfSecret([existing], input.credential, { disabledCounts: false });
      throw same ? new SecretHeldAlready(id, `${taken} (${same.state}), holding the same secret`) : new KeyPoolError("already_exists", taken);
    }
    const share = input.share ?? rules.canaryShare;
    if (!(share > 0 && share <= 1)) throw new KeyPoolError("invalid_argument", "the traffic share must be above 0 and at most 1");
    const promoteAfter = input.promoteAfter ?? rules.promoteAfter;
    if (!Number.isInteger(promoteAfter) || promoteAfter < 1) throw new KeyPoolError("invalid_argument", "promote_after must be a positive whole number");
    if (input.replaces !== undefined) {
      const replaced = keys.get(input.replaces);
      if (!replaced) throw unknownCredential(provider, input.replaces, keys.values(), " to replace");
      if (replaced.state === "retired" || replaced.state === "draining") throw new KeyPoolError("failed_precondition", `credential "${input.replaces}" is already ${replaced.state}`);
      // One canary at a time per key: a second, under another credential id, could be promoted too. A new
      // version at a watched source (`supersede`) is not refused: it takes over from its slot's canary below,
      // and a refusal would lose it (its version counts as seen).
      const trial = input.supersede ? undefined : [...keys.values()].find((other) => isCanary(other) && other.canary!.replaces === input.replaces);
      if (trial) throw canaryOnTrial(provider, input.replaces, trial.credential.id);
    }
    // A disabled holder does not count: staging its secret again (under a new id) is how an operator brings a disabled key back.
    const twin = holderOfSecret(keys.values(), input.credential, { disabledCounts: false });
    if (twin) throw new SecretHeldAlready(twin.credential.id, `the same secret is already in the pool as "${twin.credential.id}" (${twin.state})`);
    const slot = input.slot ?? id;
    for (const other of keys.values()) {
      if (other.slot !== slot || !isCanary(other)) continue;
      if (!input.supersede) throw new KeyPoolError("failed_precondition", `a canary is already staged for "${slot}" ("${other.credential.id}"): promote or roll it back first`);
      other.canary = undefined;
      changeState(this.ctx, other, "retired", "superseded", `superseded by "${id}"`);
    }
    const key = this.options.newKey({ ...input, weight: input.weight ?? 1, slot }, "standby", "staged");
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
    keys.set(id, key);
    const replacing = input.replaces ? `, to replace "${input.replaces}"` : "";
    changeState(this.ctx, key, "standby", "staged", `staged as a canary on ${Math.round(share * 1000) / 10}% of the traffic${replacing}`, "none");
    this.prune();
    return key;
  }

  /** Makes a canary active now; the key it replaces (returned) drains, then retires. */
  promote(key: PoolKey, cause: "promoted" | "auto_promoted", reason: string, now: number): PoolKey | undefined {
    if (!isCanary(key)) throw new KeyPoolError("failed_precondition", `credential "${key.credential.id}" is ${key.state}, not a staged canary`);
    const canary = key.canary!;
    const replaced = canary.replaces !== undefined ? this.ctx.keys.get(canary.replaces) : undefined;
    key.weight = canary.weight ?? replaced?.weight ?? key.weight;
    key.canary = undefined;
    key.nextAt = undefined;
    changeState(this.ctx, key, "active", cause, reason);
    this.tell(key, "promoted", cause, reason, replaced?.slot);
    if (replaced && replaced.state !== "retired" && replaced.state !== "draining") {
      replaced.canary = undefined;
      if (replaced.state === "disabled" || replaced.state === "standby") {
        changeState(this.ctx, replaced, "retired", "replaced", `replaced by "${key.credential.id}"`);
      } else {
        replaced.nextAt = now + this.options.drainMs;
        changeState(this.ctx, replaced, "draining", "replaced", `replaced by "${key.credential.id}"; retires in ${seconds(this.options.drainMs)}`);
      }
    }
    return replaced;
  }

  /** Withdraws a canary: it retires, and the active keys keep all the traffic. */
  rollback(key: PoolKey, cause: "rolled_back" | "auto_rolled_back", reason: string): void {
    if (!isCanary(key)) throw new KeyPoolError("failed_precondition", `credential "${key.credential.id}" is ${key.state}, not a staged canary`);
    const wouldReplace = key.canary!.replaces;
    key.canary = undefined;
    key.nextAt = undefined;
    changeState(this.ctx, key, "retired", cause, reason);
    this.tell(key, "rejected", cause, reason, undefined, wouldReplace);
    this.prune();
  }

  /** The vendor refused a canary (rejected it, or its account is out of quota): rolled back at once. */
  refused(key: PoolKey, why: string): void {
    key.canary!.errors++;
    this.rollback(key, "auto_rolled_back", `canary failed: ${why}`);
  }

  /**
   * Counts an outcome towards every canary under way (as the canary's own, or the active keys'), then judges
   * them. `call` (the call's request id) makes a call count once on each side: its further failed attempts
   * there (retries on the same key, when the pool has no other) are one failure, not three.
   */
  tally(key: PoolKey, ok: boolean, countsAsActive: boolean, now: number, call?: string): void {
    const canaries = [...this.ctx.keys.values()].filter(isCanary);
    for (const canary of canaries) {
      const run = canary.canary!;
      const own = canary === key;
      if (!own && !countsAsActive) continue;
      if (!ok && !this.failedCalls(run).firstFailure(own ? "canary" : "active", call)) continue;
      if (own) {
        if (ok) run.successes++;
        else run.errors++;
      } else {
        if (ok) run.activeSuccesses++;
        else run.activeErrors++;
      }
      const judgement = judgeCanary(run, { promoteAfter: run.promoteAfter, rollbackAfterErrors: this.options.rules.rollbackAfterErrors });
      if (judgement.action === "promote") this.promote(canary, "auto_promoted", `promoted automatically: ${judgement.reason}`, now);
      else if (judgement.action === "rollback") this.rollback(canary, "auto_rolled_back", `rolled back automatically: ${judgement.reason}`);
    }
  }

  /** Retires a replaced key whose draining time is up. */
  tick(key: PoolKey, now: number): void {
    if (key.state !== "draining" || key.nextAt === undefined || key.nextAt > now) return;
    key.nextAt = undefined;
    changeState(this.ctx, key, "retired", "drained", "drained after its replacement");
  }

  private failedCalls(run: CanaryRun): FailedCalls {
    let calls = this.failed.get(run);
    if (!calls) this.failed.set(run, (calls = new FailedCalls()));
    return calls;
  }

  private tell(key: PoolKey, verdict: CanaryVerdict["verdict"], cause: CanaryVerdict["cause"], reason: string, replacedSlot?: string, wouldReplace?: string): void {
    if (key.slot === undefined) return;
    // A verdict re-applied at start re-states its record: how it was judged then stays as recorded.
    const how = this.ctx.restoring ? {} : { cause, reason };
    this.options.onVerdict?.({ slot: key.slot, version: key.version, verdict, credential: key.credential.id, replacedSlot, wouldReplace, ...how });
  }

  /** Forgets the oldest retired keys beyond a few, so rotations do not grow the pool for ever. */
  private prune(): void {
    const retired = [...this.ctx.keys.values()].filter((key) => key.state === "retired");
    for (const key of retired.slice(0, Math.max(0, retired.length - RETIRED_KEPT))) this.ctx.keys.delete(key.credential.id);
  }
}

/**
 * The key (not retired or draining) that holds the same secret as
 * `credential`, if any. A disabled key counts unless `disabledCounts` is
 * false: the operator staging it by hand may bring it back. This sees only
 * the pool's keys of now: that a new version at a watched source never brings
 * back a key an operator disabled, even once it retired, is kept by
 * DisabledSecrets (disabled-secrets.ts).
 */
export function holderOfSecret(keys: Iterable<PoolKey>, credential: Credential, { disabledCounts = true } = {}): PoolKey | undefined {
  for (const key of keys) {
    if (key.state === "retired" || key.state === "draining" || (key.state === "disabled" && !disabledCounts)) continue;
    if (key.credential.secret === credential.secret && key.credential.secondary === credential.secondary) return key;
  }
  return undefined;
}
