import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { DbSecretError, type DbSecretStore } from "./db-secret-store.js";
import { KekError } from "./kek.js";
import type { SecretSource, SecretVersion } from "./secret-source.js";

export interface DbSecretSourceOptions {
  /** How often watched secrets are checked for a newer version (the safety net under the Redis notices). */
  refreshMs: number;
  logger: Logger;
}

interface Watched {
  /** The newest version handed out (read, or announced); newer ones are announced. */
  known: number | undefined;
  watchers: Set<(secret: SecretVersion) => void>;
  checking: Promise<void> | undefined;
}

/**
 * `db:NAME`: secrets from the gateway's own store. Each read decrypts the
 * row (values are not cached in clear). Watched names are checked every
 * `refreshMs`, and at once when another instance says it wrote one (over
 * Redis: `changed`); a newer version goes to the watchers, and key pools
 * stage it as a canary. When the store or the key-encryption key cannot be
 * reached, the pools keep their keys and the check is tried again later.
 */
export class DbSecretSource implements SecretSource {
  readonly scheme = "db" as const;
  private readonly watched = new Map<string, Watched>();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    readonly store: DbSecretStore,
    private readonly options: DbSecretSourceOptions,
  ) {
    this.logger = options.logger.child({ component: "db-secrets" });
  }

  async resolve(ref: SecretRef): Promise<string> {
    return (await this.read(ref)).value;
  }

  async read(ref: SecretRef): Promise<SecretVersion> {
    const secret = await this.fromStore(ref, () => this.store.read(nameOf(ref)));
    this.saw(nameOf(ref), secret.version);
    return secret;
  }

  readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    return this.fromStore(ref, () => this.store.read(nameOf(ref), version));
  }

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void): () => void {
    const entry = this.entry(nameOf(ref));
    entry.watchers.add(onChange);
    this.timer ??= setInterval(() => void this.checkAll(), this.options.refreshMs).unref();
    return () => entry.watchers.delete(onChange);
  }

  /**
   * Another instance (or this one's admin API) wrote a version of `name`:
   * look now rather than at the next tick. A check already under way may have
   * read before the write, so a new one follows it.
   */
  async changed(name: string): Promise<void> {
    if (!this.watched.has(name)) return;
    await this.watched.get(name)!.checking;
    await this.check(name);
  }

  /** Checks every watched name for a newer version. */
  async checkAll(): Promise<void> {
    const names = [...this.watched.entries()].filter(([, entry]) => entry.watchers.size > 0).map(([name]) => name);
    if (names.length === 0) return;
    let latest: Map<string, number>;
    try {
      latest = await this.store.latestVersions(names);
    } catch (err) {
      this.trouble(err);
      return;
    }
    this.trouble(undefined);
    await Promise.all(names.filter((name) => isNewer(latest.get(name), this.watched.get(name)!.known)).map((name) => this.check(name)));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.store.close();
  }

  /** One check of a name at a time; a newer version is decrypted once and handed to every watcher. */
  private check(name: string): Promise<void> {
    const entry = this.entry(name);
    entry.checking ??= (async () => {
      try {
        const secret = await this.store.read(name);
        if (!isNewer(secret.version, entry.known)) return;
        const previous = entry.known;
        entry.known = secret.version;
        if (previous === undefined) return; // the first look sets the baseline: nothing was handed out to compare with
        this.logger.info({ secret: name, version: secret.version, previousVersion: previous }, "new version of a database secret");
        for (const watcher of entry.watchers) {
          try {
            watcher({ value: secret.value, version: secret.version });
          } catch (err) {
            this.logger.error({ secret: name, error: (err as Error).message }, "could not stage a new version of a database secret");
          }
        }
      } catch (err) {
        if (err instanceof DbSecretError && err.code === "not_found") return; // removed: the pools keep what they have
        this.trouble(err);
      } finally {
        entry.checking = undefined;
      }
    })();
    return entry.checking;
  }

  private saw(name: string, version: number | undefined): void {
    const entry = this.entry(name);
    if (isNewer(version, entry.known)) entry.known = version;
  }

  private entry(name: string): Watched {
    let entry = this.watched.get(name);
    if (!entry) {
      entry = { known: undefined, watchers: new Set(), checking: undefined };
      this.watched.set(name, entry);
    }
    return entry;
  }

  /** Logs the first failure and the recovery, not every tick in between. */
  private trouble(err: unknown): void {
    if (err === undefined) {
      if (this.failing) this.logger.info("database secrets can be checked again");
      this.failing = false;
      return;
    }
    if (!this.failing) this.logger.warn({ error: messageOf(err) }, "cannot check database secrets for new versions: serving the keys in use");
    this.failing = true;
  }

  private async fromStore(ref: SecretRef, read: () => Promise<{ value: string; version: number }>): Promise<SecretVersion> {
    try {
      return await read();
    } catch (err) {
      throw new ConfigError("db", ref.raw, messageOf(err));
    }
  }
}

/** `db:NAME`: the name, checked as the store checks it. */
function nameOf(ref: SecretRef): string {
  return ref.path;
}

function isNewer(version: number | undefined, known: number | undefined): version is number {
  return version !== undefined && (known === undefined || version > known);
}

/** Store and KEK errors say what failed without a secret; a driver's error keeps its first line. */
function messageOf(err: unknown): string {
  if (err instanceof DbSecretError || err instanceof KekError) return err.message;
  return `the store cannot be read (${String((err as Error)?.message ?? err).split("\n", 1)[0]!.slice(0, 200)})`;
}
