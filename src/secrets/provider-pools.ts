import type { HealthState } from "../common/health-state.js";
import { parseSecretRef, SECRET_REF_PATTERN, type KeyConfig, type ProviderConfig, type SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { KeyPoolConfig } from "../config/secrets-config.js";
import type { BreakerConfig } from "../config/traffic.js";
import type { Logger } from "../observability/logger.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import { createCredential, fingerprint, type Credential } from "./credential.js";
import { isCredentialWeight, MAX_CREDENTIAL_WEIGHT } from "./credential-weight.js";
import { DisabledSecrets } from "./disabled-secrets.js";
import { KeyPool, KeyPoolError, type CanaryVerdict, type KeyView, type PoolEntry } from "./key-pool.js";
import type { KeyRotationRecords, RotationRecord } from "./key-rotation-records.js";
import { isRejected, type KeyVersionMemory } from "./key-version-memory.js";
import type { PoolAction } from "./pool-action-bus.js";
import { promotedByFleet, type FleetPromotion } from "./promoted-by-fleet.js";
import { slotOf } from "./rotation-record-pruning.js";
import type { SecretGone } from "./secret-gone.js";
import { goBack, keysWithdrawn, type WatchedSlot } from "./source-went-back.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretResolver, SecretVersion } from "./secret-source.js";
import { SecretHeldAlready } from "./secret-held-already.js";
import { SecretVersionGone } from "./secret-version-gone.js";
import { checkStageableEnvRef } from "./stageable-env-ref.js";
import type { CredentialHealthNotes } from "./credential-health-notes.js";
import { unappliedFleetActions } from "./unapplied-fleet-actions.js";
import { UnreadableSecret } from "./unreadable-secret.js";
import { unrestoredRotations } from "./unrestored-rotations.js";
import { checkVersionNumber, identityKey, identityOf, sameVersion, type VersionIdentity } from "./version-identity.js";

export interface ProviderPoolsDeps {
  resolver: SecretResolver;
  logger: Logger;
  metrics: SecretMetrics;
  rules: KeyPoolConfig;
  /** When a key counts as failing at the vendor: the circuit breakers' rule (`traffic.breaker`). */
  breaker?: BreakerConfig;
  /** Canary verdicts that outlive the process (in the shared store); without it each start trusts Vault's latest version. */
  memory?: KeyVersionMemory;
  /** The secrets operators disabled, in the shared store: refused for good, on every instance; without it, for this process only. */
  disabled?: DisabledSecrets;
  /** Operators' StageKey rotations and their verdicts, in the shared store: re-applied at start; without it, for this process only. */
  rotations?: KeyRotationRecords;
  /** Where a rotation that could not be re-applied at start (`key_rotations`), or another instance's action that does not apply here (`key_pools`), shows as degraded. */
  health?: HealthState;
  /** The pools' monotonic clock (see KeyPoolOptions.now). */
  now?: () => number;
  random?: () => number;
}

/** A configured key as read at start-up. */
interface Loaded {
  /** Undefined: the key has no version to start on (`without` says why); a new version at its source is staged as usual. */
  entry: PoolEntry | undefined;
  without?: string;
  /** Versions not to stage again. */
  seen: VersionIdentity[];
  /** A newer version nobody has judged yet: staged as a canary once the pool exists. */
  pending?: SecretVersion;
}

/** What an operator asks for with StageKey. */
export interface StageRequest {
  /** The id within the provider, e.g. "key-2025-06". */
  credentialId: string;
  secretRef: string;
  secondaryRef?: string;
  /** The full credential id it replaces ("openai/primary@v2"). */
  replaces?: string;
  weight?: number;
  share?: number;
  promoteAfter?: number;
}

/** A rotation recorded before this start that could not be re-applied, and why (naming no secret). */
interface Unrestored {
  record: RotationRecord;
  error: string;
  /** Its reference cannot be read now (else it was refused for another reason, which `error` names). */
  unreadable: boolean;
}

/** A configured (or staged) key whose secret can change at its source: new versions become canaries. */
interface Slot {
  provider: string;
  id: string;
  secret: SecretRef;
  secondary: SecretRef | undefined;
  weight: number;
  /** Versions already seen (active, staged or rolled back), by identityKey: never staged twice. */
  seen: Set<string>;
  /**
   * Versions that served here as the slot's key (configured, or promoted), by identityKey: the only ones
   * the pool goes back to without a trial when its source serves an older version again.
   */
  served: Set<string>;
}

const CREDENTIAL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The warning of another instance's key-pool action that does not apply here (the health dependency `key_pools` names it too). */
export const FLEET_ACTION_NOT_APPLIED =
  "another instance's key-pool action does not apply here: this instance's keys differ from the fleet's until a later action on the key applies here, or it is staged here (make the secret_ref readable here and restart, or StageKey on this instance)";

/** The error of another instance's DisableKey that leaves this instance without a key (the provider's health says so too). */
export const KEYLESS_AFTER_FLEET_DISABLE =
  "another instance's DisableKey applies here and leaves this instance no usable key for the provider: its calls fail here until a key this instance can read is staged (notApplied: the actions on it that did not apply here)";

/** The warning of a canary rolled back (or on trial) here that the fleet promoted: this instance takes the promotion. */
export const PROMOTION_TAKEN =
  "the fleet promoted a key this instance had on trial or had just rolled back (the news had not reached it yet): it is promoted here too, one verdict per canary";

/** Another instance's rollback of a key the fleet promoted: the key stays promoted here (the other instance takes the promotion). */
export const PROMOTION_KEPT = "another instance's rollback comes after the fleet promoted the key: it stays promoted here, and the other instance takes the promotion";

/** The warning of a new version numbered below the slot's keys in use that never served here: a new key, on trial like any other. */
export const NEW_KEY_NUMBERED_BELOW =
  "the source serves a version numbered below the keys in use that never served here (the secret deleted and written again at its source?): it is a new key, staged as a canary like any other";

/** The one warning a rotation recorded before this start gets when it cannot be re-applied. */
export const UNRESTORED_ROTATION = "cannot re-apply a key rotation recorded before this start: the keys it retired stay retired, the pool starts with the keys that remain";

/** The line a rotation recorded before this start gets when a key of the pool (a configured one) holds its secret: that key is the rotation's. */
export const ROTATION_HELD_BY_POOL_KEY =
  "a key rotation recorded before this start holds the same secret as a key the pool has already (configured): that key serves it, once, and is not retired for it; the record is kept as it is";

/** The warning of rotations recorded for a provider this start does not configure: they wait for it. */
export const ROTATIONS_WITHOUT_PROVIDER =
  "key rotations are recorded for a provider that is not configured at this start: they are not applied (the provider is off) and are kept for a start that configures it (its key variable, or providers.<name> in the config file)";

/**
 * Every provider's key pool, kept live: keys are read from their secret
 * sources at start-up (on the last version the fleet judged good, when the
 * store remembers one), each new version a source reports (a new Vault KV
 * version) is staged as a canary replacing the key it updates, and operators
 * stage keys by reference through the AdminService, here or on another
 * instance (`apply`).
 */
export class ProviderPools {
  private readonly pools = new Map<string, KeyPool>();
  private readonly slots = new Map<string, Slot>();
  private readonly unwatch: (() => void)[] = [];
  private readonly logger: Logger;
  private readonly disabled: DisabledSecrets;
  private readonly unreadDisables: ThrottledWarning;
  private readonly unrestored: CredentialHealthNotes;
  private readonly unapplied: CredentialHealthNotes;
  /** Verdict writes under way (onVerdict cannot wait for them): PromoteKey and RollbackKey answer once they are done. */
  private readonly remembering = new Set<Promise<void>>();
  /** Carries the canary verdicts reached here to the other instances (with Redis: `tellFleetWith`). */
  private tellFleet: ((action: PoolAction) => Promise<unknown>) | undefined;

  private constructor(private readonly deps: ProviderPoolsDeps) {
    this.logger = deps.logger.child({ component: "key-pool" });
    this.disabled = deps.disabled ?? new DisabledSecrets(undefined);
    this.unrestored = unrestoredRotations(deps.health);
    this.unapplied = unappliedFleetActions(deps.health);
    this.unreadDisables = new ThrottledWarning(this.logger, "cannot read the keys operators disabled from the store: a key disabled on another instance stays in use here until it answers");
    deps.metrics.countKeysWith(() => [...this.pools.values()].map((pool) => pool.census()));
  }

  /** Reads every configured key and builds the pools; a secret that cannot be read stops the start. */
  static async create(providers: readonly ProviderConfig[], deps: ProviderPoolsDeps): Promise<ProviderPools> {
    const pools = new ProviderPools(deps);
    try {
      // Before any key is served: a restart never brings back a key an operator disabled.
      await pools.disabled.refresh();
      const rotations = (await deps.rotations?.recall()) ?? [];
      pools.noteRotationsWithoutProvider(providers, rotations);
      for (const provider of providers) {
        const loaded = await Promise.all(provider.keys.map((key) => pools.load(provider.name, key)));
        const entries = loaded.flatMap(({ entry }) => (entry ? [entry] : []));
        // Judged once the rotations are re-applied: a promoted one may serve in place of the configured keys.
        const versionless = entries.length === 0 ? loaded.flatMap(({ without }) => (without ? [without] : [])) : [];
        pools.pools.set(
          provider.name,
          new KeyPool(
            provider.name,
            entries,
            {
              rules: deps.rules,
              breaker: deps.breaker,
              drainMs: provider.timeoutMs,
              logger: deps.logger,
              metrics: deps.metrics,
              now: deps.now,
              random: deps.random,
              onVerdict: (verdict) => pools.track(pools.remember(provider.name, verdict)),
            },
          ),
        );
        // Before the disabled secrets are applied: a restored key holding one is disabled like any other.
        const unread = await pools.restore(provider.name, rotations.filter((record) => record.provider === provider.name));
        pools.disableRefused(pools.pools.get(provider.name)!);
        pools.refuseEmptyPool(provider.name, unread, versionless);
        for (const [index, key] of provider.keys.entries()) {
          if (!key.secret) continue;
          const { seen, pending, entry } = loaded[index]!;
          const served = entry?.version === undefined ? [] : [identityKey(identityOf(entry.version, entry.credential.secret))];
          const slot: Slot = {
            provider: provider.name,
            id: key.id,
            secret: key.secret,
            secondary: key.secondary,
            weight: key.weight,
            seen: new Set(seen.map(identityKey)),
            served: new Set(served),
          };
          pools.watch(slot);
          if (pending) await pools.onNewVersion(slot, pending);
        }
      }
      if (deps.disabled) pools.pollDisabled(deps.rules.disabledKeysRefreshMs);
    } catch (err) {
      pools.close();
      throw err;
    }
    return pools;
  }

  pool(provider: string): KeyPool | undefined {
    return this.pools.get(provider);
  }

  names(): string[] {
    return [...this.pools.keys()];
  }

  /** How often the keys operators disabled are read from the store; undefined without one (each instance is on its own). */
  get disabledRefreshMs(): number | undefined {
    return this.deps.disabled ? this.deps.rules.disabledKeysRefreshMs : undefined;
  }

  /**
   * Stages an operator's key as a canary, and records it in the store (for a
   * restart, and the instances that start later: `restore`).
   */
  async stage(provider: string, request: StageRequest, now = Date.now()): Promise<KeyView> {
    const view = await this.stageKey(provider, request, { liftRefusal: true });
    await this.deps.rotations?.staged({
      provider,
      credentialId: request.credentialId,
      secretRef: request.secretRef,
      secondaryRef: request.secondaryRef,
      version: view.version,
      replaces: request.replaces,
      share: request.share,
      weight: request.weight,
      promoteAfter: request.promoteAfter,
      stagedAtMs: now,
    });
    return view;
  }

  /** An operator's PromoteKey: answers once the verdict is recorded. */
  async promote(provider: string, credentialId: string, reason: string): Promise<{ promoted: KeyView; replaced: KeyView | undefined }> {
    const done = this.require(provider).promote(credentialId, "promoted", reason);
    await this.settled();
    return done;
  }

  /**
   * An operator's RollbackKey: answers once the verdict is recorded. A key the fleet promoted already
   * (on another instance, even one whose news has not reached this one) is refused, and promoted here
   * too: one verdict per canary, so the fleet never serves two keys for one rotation.
   */
  async rollback(provider: string, credentialId: string, reason: string): Promise<KeyView> {
    const pool = this.require(provider);
    const before = pool.get(credentialId);
    const promotion = before && (await this.fleetPromotion(provider, before));
    if (promotion) {
      await this.takePromotion(pool, credentialId, promotion);
      await this.settled();
      throw promotedByFleet(provider, credentialId, promotion);
    }
    const view = pool.rollback(credentialId, "rolled_back", reason);
    await this.settled();
    // Promoted elsewhere between the check and the verdict's write: taken here instead (remember), and refused all the same.
    const after = pool.get(credentialId);
    const late = after && after.state !== "retired" ? await this.fleetPromotion(provider, after) : undefined;
    if (late) throw promotedByFleet(provider, credentialId, late);
    return view;
  }

  /**
   * From now on, each canary verdict this instance reaches on its own calls (an automatic promotion or
   * rollback) is carried to the other instances as an operator's would be: one verdict per canary.
   */
  tellFleetWith(publish: (action: PoolAction) => Promise<unknown>): void {
    this.tellFleet = publish;
  }

  /**
   * Stages a key as a canary; a Vault reference is watched like a configured
   * one. Every check is made here, not only in the admin API, since other
   * instances' actions (`apply`, from Redis) and the store's records
   * (`restore`) arrive here unchecked. Only an operator's stage lifts the
   * refusal of a disabled secret; `version` reads that version, not the latest.
   */
  private async stageKey(provider: string, request: StageRequest, { liftRefusal, version }: { liftRefusal: boolean; version?: number }): Promise<KeyView> {
    const pool = this.pools.get(provider);
    if (!pool) throw new KeyPoolError("not_found", `no provider "${provider}"`);
    if (!CREDENTIAL_ID.test(request.credentialId)) {
      throw new KeyPoolError("invalid_argument", "credential_id must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", "credential_id");
    }
    if (request.weight !== undefined && !isCredentialWeight(request.weight)) {
      throw new KeyPoolError("invalid_argument", `weight must be a number from 0 to ${MAX_CREDENTIAL_WEIGHT}`, "weight");
    }
    const secret = this.ref(provider, request.secretRef, "secret_ref");
    const secondary = request.secondaryRef ? this.ref(provider, request.secondaryRef, "secondary_ref") : undefined;
    let primary: SecretVersion;
    let second: string | undefined;
    try {
      primary = version === undefined ? await this.deps.resolver.read(secret) : await this.deps.resolver.readVersion(secret, version);
      if (primary.version !== undefined) checkVersionNumber(secret.raw, primary.version);
      second = secondary ? await this.deps.resolver.resolve(secondary) : undefined;
    } catch (err) {
      // Source errors name the reference and the problem, never a secret (Vault's are scrubbed).
      throw new UnreadableSecret((err as Error).message);
    }
    const credential = createCredential(credentialName(provider, request.credentialId, primary.version), primary.value, second);
    if (liftRefusal) await this.liftRefusal(provider, credential);
    const view = pool.stage({
      credential,
      weight: request.weight,
      source: secret.raw,
      version: primary.version,
      slot: request.credentialId,
      replaces: request.replaces,
      share: request.share,
      promoteAfter: request.promoteAfter,
    });
    if (!this.slots.has(slotKey(provider, request.credentialId))) {
      const slot: Slot = { provider, id: request.credentialId, secret, secondary, weight: request.weight ?? 1, seen: new Set(), served: new Set() };
      if (primary.version !== undefined) slot.seen.add(identityKey(identityOf(primary.version, primary.value)));
      this.watch(slot);
    }
    this.unrestored.resolved(provider, request.credentialId);
    this.unapplied.resolved(provider, request.credentialId);
    return view;
  }

  /**
   * Applies an action another instance's operator took (its admin call answered already: nothing
   * here blocks it). Where it cannot apply (the staged secret cannot be read here, the key is
   * unknown here) and this pool is not as it asks already (a canary judged here meanwhile), the
   * pool stays as it is and the divergence is logged (with the reference), counted and shown in
   * health (`key_pools`) until a later action on that credential applies here. A disable applies
   * even when it leaves no usable key here: a leaked key must leave every instance.
   */
  async apply(action: PoolAction): Promise<void> {
    const pool = this.pools.get(action.provider);
    const credential = action.op === "stage" ? action.request.credentialId : slotOf(action.provider, action.credentialId);
    const log = { action: action.op, provider: action.provider, credential, ...(action.op === "stage" && { source: action.request.secretRef }) };
    try {
      if (!pool) throw new KeyPoolError("not_found", `no provider "${action.provider}" here`);
      // The instance that took the action recorded it.
      if (action.op === "stage") await this.stageKey(action.provider, action.request, { liftRefusal: true });
      else if (action.op === "promote") pool.promote(action.credentialId, "promoted", action.reason);
      else if (action.op === "rollback") pool.rollback(action.credentialId, "rolled_back", action.reason);
      else await this.disable(action.provider, action.credentialId, action.reason);
    } catch (err) {
      if (!(err instanceof KeyPoolError)) throw err;
      if (pool && asAskedAlready(pool, action)) {
        this.unapplied.resolved(action.provider, credential);
        this.logger.info({ ...log, reason: err.message }, "another instance's key-pool action finds this instance as it asks already");
        return;
      }
      if (pool && (await this.keepsPromotion(pool, action))) {
        this.unapplied.resolved(action.provider, credential);
        this.logger.info(log, PROMOTION_KEPT);
        return;
      }
      this.unapplied.add(action.provider, credential, action.op);
      this.deps.metrics.fleetActionsNotApplied.inc({ provider: action.provider, action: action.op });
      this.logger.warn({ ...log, reason: err.message }, FLEET_ACTION_NOT_APPLIED);
      return;
    }
    this.unapplied.resolved(action.provider, credential);
    this.logger.info(log, "applied another instance's key-pool action");
    const left = pool.unusableReason();
    if (action.op === "disable" && left !== undefined) {
      this.logger.error({ ...log, left, notApplied: this.unapplied.named(action.provider) }, KEYLESS_AFTER_FLEET_DISABLE);
    }
  }

  /**
   * An operator's DisableKey (here, or another instance's from Redis): the key leaves rotation now, and
   * its secret is kept in the store as refused for good (DisabledSecrets). `stored` is false when the
   * store did not take it: logged, refused here all the same, and written again on the next refresh.
   */
  async disable(provider: string, credentialId: string, reason: string): Promise<{ view: KeyView; stored: boolean }> {
    const pool = this.pools.get(provider);
    if (!pool) throw new KeyPoolError("not_found", `no provider "${provider}"`);
    const view = pool.disable(credentialId, reason);
    return { view, stored: await this.keepDisabled(pool, view) };
  }

  /**
   * Reads the keys operators disabled anywhere in the fleet, and disables those this instance still
   * uses: on each poll, and when the Redis subscription comes back (news may have been missed).
   */
  async syncDisabled(): Promise<void> {
    try {
      await this.disabled.refresh();
    } catch (err) {
      this.unreadDisables.note(() => ({ error: (err as Error).message }));
      return;
    }
    for (const pool of this.pools.values()) this.disableRefused(pool);
  }

  close(): void {
    for (const stop of this.unwatch.splice(0)) stop();
  }

  /** Resolves once the canary verdicts heard so far are written (neither store throws): before the store closes. */
  async settled(): Promise<void> {
    await Promise.all([...this.remembering]);
  }

  private async load(provider: string, key: KeyConfig): Promise<Loaded> {
    const latest = key.secret ? await this.deps.resolver.read(key.secret) : { value: "" };
    if (key.secret && latest.version !== undefined) checkVersionNumber(key.secret.raw, latest.version);
    const { start, pending, seen, without } = key.secret ? await this.startingVersion(provider, key.id, key.secret, latest) : { start: latest, seen: [] };
    if (!start) return { entry: undefined, without, seen };
    const secondary = key.secondary ? await this.deps.resolver.resolve(key.secondary) : undefined;
    const entry: PoolEntry = {
      credential: createCredential(credentialName(provider, key.id, start.version), start.value, secondary),
      weight: key.weight,
      source: key.secret?.raw,
      version: start.version,
      slot: key.id,
    };
    return { entry, seen: start.version === undefined ? seen : [identityOf(start.version, start.value), ...seen], pending };
  }

  /**
   * The version a configured key starts on: the fleet's last good one, not a
   * later version it rolled back (left alone) or has not judged (staged again
   * as a canary). With no verdicts yet, the latest version is the good one.
   * Versions are told apart by number and value (version-identity.ts): a
   * verdict on a secret deleted and written again at its source says nothing of
   * the new secret's keys. Never a version rolled back: when the last good one
   * is gone at the source (deleted in Vault, or the secret re-created there:
   * its number now holds another value, or no longer exists) and the latest was
   * rolled back, the key starts without a version (`without`); when the latest
   * was never judged, it is the good one now, as at a first start. A last good
   * version that cannot be read for any other reason (an outage) stops the
   * start, naming the reference.
   */
  private async startingVersion(
    provider: string,
    id: string,
    ref: SecretRef,
    latest: SecretVersion,
  ): Promise<{ start: SecretVersion | undefined; pending?: SecretVersion; seen: VersionIdentity[]; without?: string }> {
    const memory = this.deps.memory;
    if (!memory || latest.version === undefined) return { start: latest, seen: [] };
    const slot = slotKey(provider, id);
    const log = { provider, slot: id, source: ref.raw, latest: latest.version };
    let verdicts;
    try {
      verdicts = await memory.recall(slot);
    } catch (err) {
      this.logger.warn({ ...log, error: (err as Error).message }, "cannot read earlier canary verdicts: starting on the latest version");
      return { start: latest, seen: [] };
    }
    const good = verdicts.good;
    const latestId = identityOf(latest.version, latest.value);
    const latestRejected = isRejected(verdicts, latestId);
    if (good === undefined || sameVersion(good, latestId) || isRejected(verdicts, good)) {
      if (latestRejected) {
        const without = `"${id}" (${ref.raw}): version ${latest.version}, the latest, was rolled back, and no good version is known`;
        this.logger.error(log, "the key's latest version was rolled back and no good version is known: the key starts without one (a new version at the source is staged as usual)");
        return { start: undefined, seen: [latestId], without };
      }
      if (good === undefined || identityKey(good) !== identityKey(latestId)) await memory.promoted(slot, latestId);
      return { start: latest, seen: [] };
    }
    const found = await this.goodVersion(ref, good, latest, latestRejected);
    if ("gone" in found) {
      if (latestRejected) {
        this.logger.error(
          { ...log, good: good.version, reason: found.gone },
          "the key's last good version is gone at its source and the latest was rolled back: the key starts without one (a new version at the source is staged as usual)",
        );
        return { start: undefined, seen: [latestId], without: `"${id}" (${ref.raw}): ${found.gone}, and version ${latest.version}, the latest, was rolled back` };
      }
      this.logger.warn({ ...log, good: good.version, reason: found.gone }, "the key's last good version is gone at its source: starting on the latest, never judged, as a first start does");
      await memory.promoted(slot, latestId);
      return { start: latest, seen: [] };
    }
    if (latestRejected) {
      this.logger.warn({ ...log, serving: good.version }, "the latest version was rolled back earlier: serving the last good one");
      return { start: found.start, seen: [latestId] };
    }
    this.logger.info({ ...log, serving: good.version }, "the latest version was never judged: serving the last good one, staging the latest as a canary");
    return { start: found.start, pending: latest, seen: [] };
  }

  /**
   * The last good version, read at its source; or why it is gone there: deleted, or the secret deleted
   * and written again (its number now holds another value, or is above the latest). Any other failure
   * (an outage) stops the start, naming the reference.
   */
  private async goodVersion(ref: SecretRef, good: VersionIdentity, latest: SecretVersion, latestRejected: boolean): Promise<{ start: SecretVersion } | { gone: string }> {
    const recreated = "the secret was deleted and written again at its source, or its newer versions withdrawn there";
    if (good.version > latest.version!) return { gone: `version ${good.version}, the last one judged good, is above the latest (${latest.version}): ${recreated}` };
    let start: SecretVersion;
    try {
      start = await this.deps.resolver.readVersion(ref, good.version);
    } catch (err) {
      if (err instanceof SecretVersionGone) return { gone: err.gone.reason };
      const problem = err instanceof ConfigError ? err.problem : (err as Error).message;
      throw new ConfigError(
        ref.scheme,
        ref.raw,
        `cannot read version ${good.version}, the last one judged good, to start on (${problem}); version ${latest.version}, the latest, ${latestRejected ? "was rolled back" : "was never judged"}, so it is not served instead`,
      );
    }
    if (good.fingerprint !== undefined && fingerprint(start.value) !== good.fingerprint) {
      return { gone: `version ${good.version} now holds another value than the one judged good (${recreated})` };
    }
    return { start };
  }

  /** Whether this version was rolled back before; a store that cannot answer does not block staging. */
  private async wasRejected(slot: Slot, identity: VersionIdentity): Promise<boolean> {
    try {
      const verdicts = await this.deps.memory?.recall(slotKey(slot.provider, slot.id));
      return verdicts !== undefined && isRejected(verdicts, identity);
    } catch (err) {
      this.logger.warn({ provider: slot.provider, slot: slot.id, version: identity.version, error: (err as Error).message }, "cannot read earlier canary verdicts: staging the version");
      return false;
    }
  }

  /**
   * Whether a new version holds a secret an operator disabled (read afresh: the news may not have
   * reached this instance yet), however long ago and whatever became of the key: logged and counted.
   */
  private async holdsDisabledSecret(slot: Slot, version: number, credential: Credential): Promise<boolean> {
    await this.syncDisabled();
    const refusal = this.disabled.find(credential);
    if (!refusal) return false;
    this.deps.metrics.disabledKeyRefusals.inc({ provider: slot.provider });
    this.logger.warn(
      { provider: slot.provider, slot: slot.id, version, source: slot.secret.raw, fingerprint: credential.fingerprint, disabledAs: refusal.credential, disabledReason: refusal.reason },
      "this version holds a disabled key's secret (DisableKey, or deleted at its source; here or on another instance, before or after a restart): not staged; only StageKey brings it back",
    );
    return true;
  }

  /** Keeps a disabled key's secret in the store, refused for good; false (logged) when the store did not take it. */
  private async keepDisabled(pool: KeyPool, view: KeyView): Promise<boolean> {
    try {
      await this.disabled.remember(pool.provider, pool.credentialOf(view.id)!, view.reason);
      return true;
    } catch (err) {
      this.logger.error(
        { provider: pool.provider, credential: view.id, fingerprint: view.fingerprint, error: (err as Error).message },
        "could not keep a disabled key in the store: it is refused here, but a restart, or an instance that missed the news, may use it",
      );
      return false;
    } finally {
      // One vendor key is often configured under several providers: it leaves every pool that holds it, now.
      for (const other of this.pools.values()) this.disableRefused(other);
    }
  }

  /** Disables every key of the pool (not retired) whose secret an operator disabled: before a restart, or on another instance. */
  private disableRefused(pool: KeyPool): void {
    for (const before of pool.list()) {
      if (before.state === "retired") continue;
      const refusal = this.disabled.find(pool.credentialOf(before.id)!);
      if (!refusal) continue;
      const after = pool.disable(before.id, refusal.reason);
      // Disabled by an operator here already: nothing new.
      if (before.state === "disabled" && after.reason === before.reason) continue;
      this.logger.warn(
        { provider: pool.provider, credential: before.id, fingerprint: before.fingerprint, disabledAs: refusal.credential },
        "this key's secret was disabled (DisableKey, or deleted at its source) as another key, on another instance or before a restart: it is disabled here too",
      );
    }
  }

  /** StageKey of a secret an operator disabled is how it comes back: its refusal is lifted first (a store that cannot lift it fails the stage). */
  private async liftRefusal(provider: string, credential: Credential): Promise<void> {
    if (!(await this.disabled.forget(credential))) return;
    this.logger.warn({ provider, credential: credential.id, fingerprint: credential.fingerprint }, "an operator staged a key disabled earlier: its secret is no longer refused");
  }

  /** Re-reads the keys operators disabled every `everyMs`, for the instances that missed the news over Redis (or have no Redis). */
  private pollDisabled(everyMs: number): void {
    const timer = setInterval(() => void this.syncDisabled(), everyMs);
    timer.unref();
    this.unwatch.push(() => clearInterval(timer));
  }

  /**
   * Keeps a canary verdict for the next start and the other instances (neither store throws), and tells
   * them the verdicts reached on this instance's calls. A rollback of a key the fleet promoted meanwhile
   * (here, the news had not arrived) does not stand: the promotion is taken here instead.
   */
  private async remember(provider: string, verdict: CanaryVerdict): Promise<void> {
    const { slot } = verdict;
    // Read now, while the judged key is surely in the pool (it may be pruned once retired).
    const identity = this.identityOfKey(provider, verdict.credential);
    if (identity && verdict.verdict === "promoted") this.slots.get(slotKey(provider, slot))?.served.add(identityKey(identity));
    if (verdict.verdict === "rejected") {
      const promotion = await this.fleetPromotion(provider, { id: verdict.credential, slot, version: verdict.version });
      if (promotion) return this.takePromotion(this.pools.get(provider)!, verdict.credential, promotion, verdict.wouldReplace);
    }
    const memory = this.deps.memory;
    if (memory && identity) {
      const key = slotKey(provider, slot);
      await (verdict.verdict === "promoted" ? memory.promoted(key, identity) : memory.rejected(key, identity));
    }
    await this.deps.rotations?.judged(provider, verdict);
    // After the record is written: an instance that checks the store on hearing it finds the verdict there.
    if ((verdict.cause === "auto_promoted" || verdict.cause === "auto_rolled_back") && verdict.reason !== undefined) {
      const op = verdict.cause === "auto_promoted" ? "promote" : "rollback";
      await this.tellFleet?.({ op, provider, credentialId: verdict.credential, reason: `${verdict.reason} (on another instance)` });
    }
  }

  /**
   * Whether the fleet promoted this version of the key's slot: its rotation record says so, or (a Vault
   * version of a configured key, which has no record) the version memory holds it as the slot's good one.
   * A store that cannot be read answers no.
   */
  private async fleetPromotion(provider: string, key: { id: string; slot?: string; version?: number }): Promise<FleetPromotion | undefined> {
    if (key.slot === undefined) return undefined;
    const identity = this.identityOfKey(provider, key.id);
    const record = await this.deps.rotations?.promotion(provider, key.slot, key.version);
    if (record) return { cause: record.cause === "auto_promoted" ? "auto_promoted" : "promoted", reason: record.reason ?? "promoted", record };
    if (!identity || !this.deps.memory) return undefined;
    try {
      const { good } = await this.deps.memory.recall(slotKey(provider, key.slot));
      return good && sameVersion(good, identity) ? { cause: undefined, reason: `version ${good.version} is the slot's good version` } : undefined;
    } catch (err) {
      this.logger.warn({ provider, slot: key.slot, version: key.version, error: (err as Error).message }, "cannot read earlier canary verdicts: a rollback goes ahead");
      return undefined;
    }
  }

  /**
   * Takes the fleet's promotion of a key this instance still has on trial, or has just rolled back (the
   * news had not reached it): promoted here too. A key rolled back here is staged again from the
   * promotion's record and promoted, replacing what it was staged to replace here (`wouldReplace`).
   * Where that cannot be done (no record: a Vault version of a configured key; its secret cannot be read
   * here) this instance's keys differ from the fleet's, and it says so as for another instance's action
   * that does not apply here.
   */
  private async takePromotion(pool: KeyPool, credentialId: string, promotion: FleetPromotion, wouldReplace?: string): Promise<void> {
    const provider = pool.provider;
    const slot = slotOf(provider, credentialId);
    const log = { action: "promote", provider, credential: slot };
    const key = pool.get(credentialId);
    if (key && servesAsPromoted(key)) return;
    const reason = `promoted on another instance (${promotion.reason})`;
    try {
      if (key?.canary) pool.promote(credentialId, "promoted", reason);
      else if (promotion.record) {
        pool.forgetRetired(credentialId);
        pool.promote((await this.restage(pool, promotion.record, wouldReplace)).id, "promoted", reason);
      } else throw new KeyPoolError("failed_precondition", `credential "${credentialId}" was rolled back here, and the promotion has no record to stage it again from`);
    } catch (err) {
      if (!(err instanceof KeyPoolError)) throw err;
      this.unapplied.add(provider, slot, "promote");
      this.deps.metrics.fleetActionsNotApplied.inc({ provider, action: "promote" });
      this.logger.warn({ ...log, reason: err.message }, FLEET_ACTION_NOT_APPLIED);
      return;
    }
    this.unapplied.resolved(provider, slot);
    this.logger.warn({ ...log, promotion: promotion.reason }, PROMOTION_TAKEN);
  }

  /** Whether another instance's rollback finds here the key the fleet promoted (the sender takes the promotion too). */
  private async keepsPromotion(pool: KeyPool, action: PoolAction): Promise<boolean> {
    if (action.op !== "rollback") return false;
    const key = pool.get(action.credentialId);
    return key !== undefined && servesAsPromoted(key) && (await this.fleetPromotion(pool.provider, key)) !== undefined;
  }

  /** The version a key of the pool holds, by number and value; undefined for an unversioned key, or one no longer in the pool. */
  private identityOfKey(provider: string, credentialId: string): VersionIdentity | undefined {
    const pool = this.pools.get(provider);
    const version = pool?.get(credentialId)?.version;
    const credential = pool?.credentialOf(credentialId);
    return version === undefined || !credential ? undefined : identityOf(version, credential.secret);
  }

  private track(write: Promise<void>): void {
    this.remembering.add(write);
    void write.finally(() => this.remembering.delete(write));
  }


  private require(provider: string): KeyPool {
    const pool = this.pools.get(provider);
    if (!pool) throw new KeyPoolError("not_found", `no provider "${provider}"`);
    return pool;
  }

  /**
   * Re-applies the rotations recorded for a provider before this start (here or on
   * another instance), oldest first: a staged key is staged again as a canary, a
   * promoted one staged and promoted, and every key a promotion replaced is retired
   * at once, so a restart never puts a rotated-out key back in service. A record
   * that cannot be re-applied (its secret_ref no longer resolves: the variable or
   * file entry is gone, Vault cannot be read, the version was deleted) is logged
   * once, naming its reference, and shown in health; the keys its promotion retired
   * stay retired (they may be keys the operator rotated away from as leaked), and
   * the pool starts with the keys that remain. A record whose secret a key in service
   * holds already (a configured key: the operator put the rotation's key in the
   * provider's variable, or configured it under the rotation's id) is that key: it is
   * not staged a second time, that key is not retired for it, and the record stays
   * as it is. Returns the records not re-applied.
   */
  private async restore(provider: string, records: readonly RotationRecord[]): Promise<Unrestored[]> {
    const pool = this.pools.get(provider)!;
    // Its state changes say "restored from a rotation recorded before this start", and count as no transition: a restart is no rotation.
    return pool.restoring(() => this.reapply(pool, records));
  }

  private async reapply(pool: KeyPool, records: readonly RotationRecord[]): Promise<Unrestored[]> {
    const provider = pool.provider;
    const restored = new Map<string, string>();
    const unread: Unrestored[] = [];
    for (const record of records) {
      if (record.state !== "staged" && record.state !== "promoted") continue;
      try {
        const view = await this.restage(pool, record);
        // As the verdict said then ("promoted automatically: …", "promoted by \"master\""); records of earlier versions do not say.
        if (record.state === "promoted") pool.promote(view.id, record.cause === "auto_promoted" ? "auto_promoted" : "promoted", record.reason ?? "promoted");
        restored.set(record.credentialId, view.id);
      } catch (err) {
        const holder = heldByPoolKey(pool, err);
        if (holder !== undefined) {
          if (record.state === "promoted") restored.set(record.credentialId, holder);
          this.logger.info({ provider, credential: record.credentialId, source: record.secretRef, state: record.state, heldBy: holder }, ROTATION_HELD_BY_POOL_KEY);
          continue;
        }
        unread.push({ record, error: (err as Error).message, unreadable: err instanceof UnreadableSecret });
        this.unrestored.add(provider, record.credentialId);
        // Source errors name the reference and the problem, never a secret.
        this.logger.warn(
          { provider, credential: record.credentialId, source: record.secretRef, state: record.state, error: (err as Error).message },
          UNRESTORED_ROTATION,
        );
      }
    }
    // A promotion holds when its key is in the pool again (or when it cannot be re-applied now: what
    // it retired stays retired), or when a later promotion that holds replaced it.
    const unreadPromotions = new Set(unread.filter(({ record }) => record.state === "promoted").map(({ record }) => record.credentialId));
    const byId = new Map(records.map((record) => [record.credentialId, record]));
    const holder = (record: RotationRecord, seen = new Set<string>()): { id: string } | { unread: string } | undefined => {
      if (seen.has(record.credentialId)) return undefined;
      seen.add(record.credentialId);
      if (unreadPromotions.has(record.credentialId)) return { unread: record.credentialId };
      const id = record.state === "promoted" ? restored.get(record.credentialId) : undefined;
      if (id !== undefined) return { id };
      const next = record.state === "retired" && record.replacedBy !== undefined ? byId.get(slotOf(provider, record.replacedBy)) : undefined;
      return next && holder(next, seen);
    };
    for (const record of records) {
      const by = record.replaces === undefined ? undefined : holder(record);
      const replaced = by && liveKeyFor(pool, record.replaces!, { draining: true });
      if (!by || !replaced || ("id" in by && replaced === by.id)) continue;
      pool.retire(
        replaced,
        "id" in by ? `replaced by "${by.id}"` : `replaced by "${credentialName(provider, by.unread, undefined)}", which cannot be re-applied now`,
      );
    }
    return unread;
  }

  /**
   * Stages a recorded rotation's key again, from its record, replacing the key that fills now what it
   * replaced (or `replacing`, when that key is still live: the record's may be one an earlier promotion retired).
   */
  private restage(pool: KeyPool, record: RotationRecord, replacing?: string): Promise<KeyView> {
    const live = replacing === undefined ? undefined : liveKeyFor(pool, replacing);
    const replaces = live ?? (record.replaces === undefined ? undefined : liveKeyFor(pool, record.replaces));
    return this.stageKey(
      pool.provider,
      { credentialId: record.credentialId, secretRef: record.secretRef, secondaryRef: record.secondaryRef, replaces, share: record.share, weight: record.weight, promoteAfter: record.promoteAfter },
      { liftRefusal: false, version: record.version },
    );
  }

  /** Names the recorded rotations of providers this start does not configure (a vendor's key variable unset): they wait for one that does. */
  private noteRotationsWithoutProvider(providers: readonly ProviderConfig[], records: readonly RotationRecord[]): void {
    const configured = new Set(providers.map((provider) => provider.name));
    const waiting = new Map<string, string[]>();
    for (const record of records) {
      if (configured.has(record.provider) || (record.state !== "staged" && record.state !== "promoted")) continue;
      waiting.set(record.provider, [...(waiting.get(record.provider) ?? []), record.credentialId]);
    }
    for (const [provider, credentials] of waiting) this.logger.warn({ provider, credentials }, ROTATIONS_WITHOUT_PROVIDER);
  }

  /**
   * A pool left with no key to hand out because promotions could not be re-applied, or because no
   * configured key has a version to start on (`versionless`: why each has none) and no recorded
   * rotation serves instead, stops the start, as a configured key that cannot be read does: better
   * than serving nothing, or putting back keys the operator retired. (A canary not re-applied took
   * nothing out of service.)
   */
  private refuseEmptyPool(provider: string, unread: readonly Unrestored[], versionless: readonly string[]): void {
    const promotions = unread.filter(({ record }) => record.state === "promoted");
    const pool = this.pools.get(provider)!;
    const left = pool.unusableReason();
    if (left === undefined || (promotions.length === 0 && versionless.length === 0)) return;
    const writeNewVersion = "write a new version of the key at its source, which is served as a first start serves the latest";
    if (promotions.length === 0) {
      throw new ConfigError("config", `providers.${provider}.keys`, `no key to start on: ${versionless.join("; ")}; ${writeNewVersion}`);
    }
    // The errors name the reference and the problem, never a secret.
    const why = promotions.map(({ record, error }) => `"${record.credentialId}" (${record.secretRef}): ${error}`).join("; ");
    const unreadable = promotions.filter((promotion) => promotion.unreadable).length;
    // Readable references are not asked for when they read fine: the errors say what else stops them.
    const fix =
      unreadable === promotions.length
        ? "make the references readable again"
        : unreadable === 0
          ? "fix what the errors name"
          : "make the unreadable references readable again and fix what the other errors name";
    const configured = versionless.length === 0 ? "" : `; and no configured key has a version to start on (${versionless.join("; ")})`;
    const orWrite = versionless.length === 0 ? "" : `, ${writeNewVersion},`;
    throw new ConfigError(
      "store",
      `key_rotation:${provider}`,
      `provider "${provider}" has ${pool.list().length === 0 ? "no key" : left}: the keys its recorded rotations retired stay retired, and the rotations cannot be re-applied (${why})${configured}; ${fix}${orWrite} or add a key under a new id to providers.${provider}.keys`,
    );
  }

  private watch(slot: Slot): void {
    const name = slotKey(slot.provider, slot.id);
    const stop = this.deps.resolver.watch(
      slot.secret,
      (secret) => {
        this.onNewVersion(slot, secret).catch((err: unknown) => {
          this.logger.error({ provider: slot.provider, slot: slot.id, version: secret.version, error: (err as Error).message }, "could not stage a new version of a key");
        });
      },
      (gone) => this.onGone(slot, gone),
      () => this.keysOf(slot).flatMap((key) => (key.version === undefined ? [] : [key.version])),
    );
    if (!stop) return;
    this.slots.set(name, slot);
    this.unwatch.push(stop);
  }

  /**
   * A new version at the source: stage it as a canary replacing the key that fills the slot now. Only a
   * version that served here already (same number, same value) is gone back to without a trial when the
   * source serves an older version again (AWS: a label taken off the newer one); any other version numbered
   * below the keys in use (Vault numbers from 1 again once a secret is deleted and written anew) is a new
   * key, staged as a canary like any other. A version number that is no positive whole number is the
   * source's fault: refused (the watcher logs it).
   */
  private async onNewVersion(slot: Slot, secret: SecretVersion): Promise<void> {
    if (secret.version === undefined) return;
    checkVersionNumber(slot.secret.raw, secret.version);
    const pool = this.pools.get(slot.provider)!;
    const identity = identityOf(secret.version, secret.value);
    const watched = { provider: slot.provider, id: slot.id, source: slot.secret.raw };
    const withdrawn = keysWithdrawn(pool, watched, secret.version);
    if (withdrawn.length > 0 && slot.served.has(identityKey(identity))) return this.goBack(slot, watched, secret as Required<SecretVersion>, withdrawn);
    const log = { provider: slot.provider, slot: slot.id, version: secret.version, fingerprint: identity.fingerprint, source: slot.secret.raw };
    if (slot.seen.has(identityKey(identity))) {
      this.logger.info(log, "this version was seen here already (served, staged or rolled back): not staged again");
      return;
    }
    slot.seen.add(identityKey(identity));
    if (withdrawn.length > 0) this.logger.warn({ ...log, inUse: withdrawn.map((key) => key.id) }, NEW_KEY_NUMBERED_BELOW);
    if (await this.wasRejected(slot, identity)) {
      this.logger.warn(log, "this version was rolled back earlier (here or on another instance): not staged");
      return;
    }
    const secondary = slot.secondary ? await this.deps.resolver.resolve(slot.secondary) : undefined;
    const credential = createCredential(credentialName(slot.provider, slot.id, secret.version), secret.value, secondary);
    if (await this.holdsDisabledSecret(slot, secret.version, credential)) return;
    const twin = pool.holding(credential);
    if (twin) {
      this.logger.info({ provider: slot.provider, credential: twin.id, version: secret.version }, "the new version holds the key already in use: nothing to stage");
      return;
    }
    freeIdOfOlderSecret(pool, credential.id);
    const holder = pool.holderOf(slot.id);
    const replaces = holder && holder.state !== "standby" ? holder.id : holder?.canary?.replaces;
    pool.stage({ credential, weight: holder?.weight ?? slot.weight, source: slot.secret.raw, version: secret.version, slot: slot.id, replaces, supersede: true });
  }

  /** The source serves again a version that served here (AWS: a label taken off a newer one): the pool follows it as a restart would (source-went-back.ts). */
  private async goBack(slot: Slot, watched: WatchedSlot, secret: Required<SecretVersion>, withdrawn: KeyView[]): Promise<void> {
    const pool = this.pools.get(slot.provider)!;
    // The versions given up may be served again later (labelled anew): then they are staged as new.
    for (const key of withdrawn) {
      const given = this.identityOfKey(slot.provider, key.id);
      if (given) slot.seen.delete(identityKey(given));
    }
    slot.seen.add(identityKey(identityOf(secret.version, secret.value)));
    const secondary = slot.secondary ? await this.deps.resolver.resolve(slot.secondary) : undefined;
    const credential = createCredential(credentialName(slot.provider, slot.id, secret.version), secret.value, secondary);
    if (await this.holdsDisabledSecret(slot, secret.version, credential)) return;
    goBack(pool, watched, secret.version, credential, this.logger);
  }

  /**
   * The source answered that a version of the slot's secret was deleted there: every key holding it
   * (active, canary, benched) is disabled, as DisableKey would (its secret refused for good, in the
   * store), with the reason shown in ListProviders.
   * No older version is brought back (it may be the very key the operator rotated away from); the
   * next version written at the source is staged as usual, replacing the disabled key.
   */
  private onGone(slot: Slot, gone: SecretGone): void {
    const pool = this.pools.get(slot.provider)!;
    const holders = this.keysOf(slot).filter((key) => gone.version === undefined || key.version === gone.version);
    const reason = `secret deleted at its source: ${gone.reason}`;
    for (const key of holders) {
      const view = pool.disable(key.id, reason);
      void this.keepDisabled(pool, view);
      // A key an operator disabled already keeps its reason, and says nothing new.
      if (view.reason !== reason) continue;
      this.logger.error(
        { provider: slot.provider, credential: key.id, fingerprint: key.fingerprint, version: key.version, source: slot.secret.raw },
        "the key's secret was deleted at its source: the key is disabled (a new version at the source replaces it)",
      );
    }
  }

  /** The slot's keys from its secret still in the pool (active, canary or benched): whose versions each poll checks at the source. */
  private keysOf(slot: Slot): KeyView[] {
    return this.pools
      .get(slot.provider)!
      .list()
      .filter((key) => key.slot === slot.id && key.source === slot.secret.raw && key.state !== "retired" && key.state !== "draining");
  }

  private ref(provider: string, raw: string, field: string): SecretRef {
    if (!SECRET_REF_PATTERN.test(raw)) {
      throw new KeyPoolError("invalid_argument", `${field} must be a secret reference such as "vault:secret/switchboard/openai#api_key", "file:NAME" or "env:NAME", never the secret itself`, field);
    }
    const ref = parseSecretRef(raw);
    checkStageableEnvRef(provider, ref, field);
    return ref;
  }
}

/** A slot across providers ("openai/primary"): how the watch list and the verdict memory name it. */
function slotKey(provider: string, id: string): string {
  return `${provider}/${id}`;
}

/**
 * Whether the pool is as another instance's action asks although the action itself failed here, so
 * nothing diverges: the canary was promoted here already (judged here meanwhile), the key is out of
 * use (retired, disabled, or never here) after a rollback or disable, a key fills the staged slot.
 */
function asAskedAlready(pool: KeyPool, action: PoolAction): boolean {
  if (action.op === "stage") {
    const holder = pool.holderOf(action.request.credentialId);
    return holder !== undefined && holder.state !== "disabled";
  }
  const key = pool.get(action.credentialId);
  if (action.op === "promote") return key?.state === "active" || key?.state === "cooling_down";
  return key === undefined || key.state === "retired" || key.state === "disabled";
}

/** Whether a key is in service as a promoted (or configured) key: no canary, not retired or disabled. */
function servesAsPromoted(key: KeyView): boolean {
  return key.canary === undefined && (key.state === "active" || key.state === "cooling_down" || key.state === "draining");
}

/**
 * The key in service (no canary) that holds the secret a recorded rotation's key was refused for at
 * start, if that is why it was refused: a configured key holding the secret the rotation put in service.
 */
function heldByPoolKey(pool: KeyPool, err: unknown): string | undefined {
  if (!(err instanceof SecretHeldAlready)) return undefined;
  const holder = pool.get(err.holder);
  return holder && servesAsPromoted(holder) ? holder.id : undefined;
}

/** The key that is `poolId` (not retired; nor draining unless asked), or else fills its slot now (a later version of it), if any. */
function liveKeyFor(pool: KeyPool, poolId: string, { draining = false } = {}): string | undefined {
  const exact = pool.get(poolId);
  if (exact && exact.state !== "retired" && (draining || exact.state !== "draining")) return exact.id;
  return pool.holderOf(slotOf(pool.provider, poolId))?.id;
}

/**
 * Frees `credentialId` for a new version when a key of the secret's earlier life holds it: a secret deleted
 * and written again at its source numbers its versions from 1 again, and `primary@v1` may still name the
 * old version 1 (another value). An old key out of service (retired, draining, disabled: its secret stays
 * refused, DisabledSecrets) gives the id up; one still in service keeps it, and the new version is refused.
 */
function freeIdOfOlderSecret(pool: KeyPool, credentialId: string): void {
  const old = pool.get(credentialId);
  if (!old) return;
  if (old.state === "active" || old.state === "cooling_down" || old.state === "standby") {
    throw new KeyPoolError(
      "failed_precondition",
      `"${credentialId}" is still in service holding another value of that version (the secret was deleted and written again at its source): the new version is not staged; write another version to replace it`,
    );
  }
  if (old.state !== "retired") pool.retire(credentialId, "its version number now names another value at its source (the secret was deleted and written again there)");
  pool.forgetRetired(credentialId);
}

/** "openai/primary", or "openai/primary@v3" for a versioned (Vault) secret. */
export function credentialName(provider: string, id: string, version: number | undefined): string {
  return version === undefined ? `${provider}/${id}` : `${provider}/${id}@v${version}`;
}
