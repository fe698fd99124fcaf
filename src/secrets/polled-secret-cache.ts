import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import type { SecretGone } from "./secret-gone.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretVersion } from "./secret-source.js";
import { sourceCause } from "./source-cause.js";
import type { DegradedReporter } from "./vault-client.js";

/**
 * What a polled source knows of its own backend. `Target` is a parsed
 * reference (which secret, and which part of it); `Latest` is one version of
 * a whole secret as read.
 */
export interface PolledSecretBackend<Target, Latest> {
  /** Takes a reference apart; a ConfigError when it is malformed. */
  parse(ref: SecretRef): Target;
  /** The secret a target names: targets with the same key share one cached version and one poll. */
  keyOf(target: Target): string;
  /** Reads the newest version. `cached` is the version held, if any, to hand back as it is when unchanged. */
  fetchLatest(target: Target, cached: Latest | undefined): Promise<Latest>;
  /** The number a version is handed out with. */
  versionOf(latest: Latest): number;
  /** Whether a fresh read is a new version for the watchers. */
  supersedes(latest: Latest, previous: Latest): boolean;
  /** The value a target picks out of a version; a ConfigError (naming fields, never values) when it has none. */
  valueOf(latest: Latest, target: Target, ref: Pick<SecretRef, "raw">): SecretVersion;
  /** What a failed read is reported as in health and logs: safe to show. */
  problemOf(err: unknown, key: string): string;
  /**
   * Whether a failed read is the backend's definite answer that the version
   * held (`held`) is gone: deleted or destroyed, or the whole secret removed.
   * Undefined for any other failure (unreachable, refused, throttled), after
   * which `held` is served on. When left out, no failure is definite.
   */
  goneOf?(err: unknown, target: Target, held: Latest): Promise<SecretGone | undefined>;
  /**
   * Whether an earlier version a watcher still uses (`inUse`) is gone: the
   * backend's definite answer to a read of it by number, undefined for any
   * other. Each poll asks it of each such version, once the latest is read:
   * a version in use is often not the latest (a canary on trial, a rollback).
   */
  goneVersion?(target: Target, version: number): Promise<SecretGone | undefined>;
  /** Whether a watched secret may be polled now (AWS: not while it throttles the gateway). Always, when left out. */
  mayPoll?(key: string, now: number): boolean;
}

/** How the logs name the backend and its secrets, so each source keeps its own lines. */
export interface PolledSecretWording {
  /** In "… cannot be read" and "… can be read again": "Vault", "AWS Secrets Manager". */
  service: string;
  /** In "new version of …": "a Vault secret", "an AWS secret". */
  aSecret: string;
  /** The log field naming the secret (its key) on a new version: "path", "secret". */
  keyField: string;
  /** The error line for a new version in which a watcher's reference finds no value. */
  unusable(err: ConfigError): { msg: string; error?: string };
  /** Where a secret lives, in "… was deleted in Vault": "in Vault", "in AWS Secrets Manager". */
  where: string;
}

export interface PolledSecretCacheOptions<Target, Latest> {
  /** The scheme: names the source in its ConfigErrors, the source-up gauge and health. */
  source: SecretRef["scheme"];
  backend: PolledSecretBackend<Target, Latest>;
  wording: PolledSecretWording;
  /** How long a read is served from memory, and how often watched secrets are polled. */
  refreshMs: number;
  /** Whether a secret that never read (a mistyped reference) counts towards the source being degraded. */
  unreadSecretsDegrade: boolean;
  logger: Logger;
  metrics?: SecretMetrics;
  reportDegraded?: DegradedReporter;
  now: () => number;
}

interface Watcher<Target> {
  target: Target;
  raw: string;
  onChange: (secret: SecretVersion) => void;
  onGone: ((gone: SecretGone) => void) | undefined;
  /** The versions the watcher still uses: each poll checks those that are not the latest. */
  inUse: (() => Iterable<number>) | undefined;
}

/** One secret: its newest version as last read, and who watches it. */
interface Entry<Target, Latest> {
  key: string;
  /** The target of the reference that first named the secret: what `fetchLatest` reads. */
  target: Target;
  latest: Latest | undefined;
  fetchedAt: number;
  reading: Promise<void> | undefined;
  problem: string | undefined;
  /** The problem in a few words, for the unauthenticated /healthz (the whole of it goes to the log). */
  cause?: string;
  /** Set while the source answers that `latest` is gone: it is served no more. */
  gone: SecretGone | undefined;
  /** Earlier versions in use that the source answered are gone: told once, not read again. */
  goneVersions: Set<number>;
  watchers: Set<Watcher<Target>>;
}

/**
 * The part of a polled secret source that is the same whatever the backend:
 * the newest version of each secret kept for `refreshMs`, one read of a
 * secret at a time, the known version served when a re-read fails, watched
 * secrets polled on one shared timer (which never keeps the process alive)
 * with each new version handed to the watchers, and the source reported
 * degraded (gauge, logs, health) while any read fails. When the backend
 * answers that the known version is gone (deleted, destroyed), it is served
 * no more and the watchers are told, once; a newer version reaches them as
 * any new version does.
 */
export class PolledSecretCache<Target, Latest> {
  private readonly entries = new Map<string, Entry<Target, Latest>>();
  private timer: NodeJS.Timeout | undefined;
  private degraded = false;
  /** The cause health was last told. */
  private toldCause: string | undefined;

  constructor(private readonly options: PolledSecretCacheOptions<Target, Latest>) {}

  async read(ref: SecretRef): Promise<SecretVersion> {
    const target = this.options.backend.parse(ref);
    const entry = this.entry(target);
    if (entry.latest === undefined || this.options.now() - entry.fetchedAt >= this.options.refreshMs) {
      try {
        await this.fetch(entry);
      } catch (err) {
        // With a known version, a failed re-read is no reason to fail: serve what we have.
        if (entry.latest === undefined) throw new ConfigError(this.options.source, ref.raw, (err as Error).message);
      }
    }
    if (entry.gone) throw new ConfigError(this.options.source, ref.raw, entry.gone.reason);
    return this.options.backend.valueOf(entry.latest!, target, ref);
  }

  /**
   * Hands each new version of `ref` to `onChange`, and tells `onGone` when the source answers that a
   * version in use is gone: the latest, or one of `inUse` (checked on each poll, where the backend can).
   */
  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void, inUse?: () => Iterable<number>): () => void {
    const target = this.options.backend.parse(ref);
    const entry = this.entry(target);
    const watcher: Watcher<Target> = { target, raw: ref.raw, onChange, onGone, inUse };
    entry.watchers.add(watcher);
    this.timer ??= setInterval(() => void this.refreshWatched(), this.options.refreshMs).unref();
    return () => entry.watchers.delete(watcher);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads every watched secret whose copy is due (and that may be polled now). */
  async refreshWatched(): Promise<void> {
    const { backend, refreshMs } = this.options;
    const now = this.options.now();
    const due = [...this.entries.values()].filter(
      (entry) => entry.watchers.size > 0 && (backend.mayPoll?.(entry.key, now) ?? true) && now - entry.fetchedAt >= refreshMs * 0.9,
    );
    await Promise.all(due.map((entry) => this.fetch(entry).catch(() => undefined)));
  }

  private entry(target: Target): Entry<Target, Latest> {
    const key = this.options.backend.keyOf(target);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { key, target, latest: undefined, fetchedAt: 0, reading: undefined, problem: undefined, gone: undefined, goneVersions: new Set(), watchers: new Set() };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** One read of a secret at a time; a new version is passed to the watchers, a version gone at the source too. */
  private fetch(entry: Entry<Target, Latest>): Promise<void> {
    const { backend } = this.options;
    entry.reading ??= (async () => {
      const previous = entry.latest;
      try {
        const latest = await backend.fetchLatest(entry.target, previous);
        entry.latest = latest;
        entry.fetchedAt = this.options.now();
        entry.gone = undefined;
        this.setProblem(entry, undefined);
        if (previous !== undefined && backend.supersedes(latest, previous)) this.announce(entry, latest, previous);
        await this.checkInUse(entry);
      } catch (err) {
        const gone = previous === undefined ? undefined : await backend.goneOf?.(err, entry.target, previous).catch(() => undefined);
        if (!gone) {
          this.setProblem(entry, backend.problemOf(err, entry.key), sourceCause(err));
          throw err;
        }
        // The source answered: nothing is degraded, but the version is not served any more. `latest` stays, to tell a newer version.
        entry.fetchedAt = this.options.now();
        this.setProblem(entry, undefined);
        if (!entry.gone) this.announceGone(entry, gone);
        entry.gone = gone;
        await this.checkInUse(entry);
      } finally {
        entry.reading = undefined;
      }
    })();
    return entry.reading;
  }

  /**
   * Reads by number each version the watchers still use that is not the latest (once the latest is
   * read: the source answers), and tells them of each the source answers is gone. A read that is not
   * a definite answer (an outage) changes nothing: the next poll asks again.
   */
  private async checkInUse(entry: Entry<Target, Latest>): Promise<void> {
    const { backend } = this.options;
    if (!backend.goneVersion || entry.latest === undefined || (entry.gone && entry.gone.version === undefined)) return;
    const latest = backend.versionOf(entry.latest);
    const versions = new Set<number>();
    for (const watcher of entry.watchers) {
      for (const version of watcher.inUse?.() ?? []) if (version !== latest && !entry.goneVersions.has(version)) versions.add(version);
    }
    for (const version of versions) {
      const gone = await backend.goneVersion(entry.target, version).catch(() => undefined);
      if (!gone) continue;
      entry.goneVersions.add(version);
      this.announceGone(entry, gone);
    }
  }

  private announce(entry: Entry<Target, Latest>, latest: Latest, previous: Latest): void {
    const { backend, wording, logger } = this.options;
    const version = backend.versionOf(latest);
    logger.info({ [wording.keyField]: entry.key, version, previousVersion: backend.versionOf(previous) }, `new version of ${wording.aSecret}`);
    for (const watcher of entry.watchers) {
      let secret: SecretVersion;
      try {
        secret = backend.valueOf(latest, watcher.target, watcher);
      } catch (err) {
        const { msg, error } = wording.unusable(err as ConfigError);
        logger.error({ ref: watcher.raw, version, ...(error === undefined ? {} : { error }) }, msg);
        continue;
      }
      try {
        watcher.onChange(secret);
      } catch (err) {
        logger.error({ ref: watcher.raw, error: (err as Error).message }, `could not stage a new version of ${wording.aSecret}`);
      }
    }
  }

  private announceGone(entry: Entry<Target, Latest>, gone: SecretGone): void {
    const { wording, logger } = this.options;
    logger.warn(
      { [wording.keyField]: entry.key, version: gone.version ?? "all", reason: gone.reason },
      `${wording.aSecret} was deleted ${wording.where}: it is no longer used (a new version is staged as usual)`,
    );
    for (const watcher of entry.watchers) {
      try {
        watcher.onGone?.(gone);
      } catch (err) {
        logger.error({ ref: watcher.raw, error: (err as Error).message }, `could not stop using ${wording.aSecret} deleted ${wording.where}`);
      }
    }
  }

  /** The source is degraded while any read fails; the gauge, the logs and health say so. */
  private setProblem(entry: Entry<Target, Latest>, problem: string | undefined, cause?: string): void {
    const { source, wording, logger } = this.options;
    entry.problem = problem;
    entry.cause = cause;
    const first = [...this.entries.values()].find((e) => e.problem !== undefined && (this.options.unreadSecretsDegrade || e.latest !== undefined));
    const degraded = first !== undefined;
    this.options.metrics?.sourceUp.set({ source }, degraded ? 0 : 1);
    // Health shows the latest cause, in a few words ("unreachable" becomes "access denied"): the log has each cause's whole problem.
    const told = first && (first.cause ?? "failed");
    if (degraded !== this.degraded) {
      this.degraded = degraded;
      if (degraded) logger.warn({ error: first.problem }, `${wording.service} cannot be read: serving the last known secrets`);
      else logger.info(`${wording.service} can be read again`);
    } else if (told !== this.toldCause) {
      logger.warn({ error: first?.problem }, `${wording.service} still cannot be read: serving the last known secrets`);
    }
    this.toldCause = told;
    this.options.reportDegraded?.(source, told);
  }
}
