import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretSource, SecretVersion } from "./secret-source.js";
import type { DegradedReporter, KvSecret, VaultClient } from "./vault-client.js";
import { VaultError } from "./vault-error.js";

/** `vault:MOUNT/PATH#FIELD`, taken apart. */
export interface VaultRef {
  mount: string;
  path: string;
  field: string;
}

/** The first path segment is the KV v2 mount; the rest is the secret's path; `#FIELD` names the value. */
export function parseVaultRef(ref: SecretRef): VaultRef {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.\/-]+)#([A-Za-z0-9_.-]+)$/.exec(ref.path);
  if (!match || match[2]!.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new ConfigError("config", ref.raw, 'must look like "vault:MOUNT/PATH#FIELD", e.g. "vault:secret/switchboard/openai#api_key"');
  }
  return { mount: match[1]!, path: match[2]!, field: match[3]! };
}

interface Watcher {
  field: string;
  raw: string;
  onChange: (secret: SecretVersion) => void;
}

/** One KV v2 secret (all its fields at one version), as last read. */
interface Entry {
  mount: string;
  path: string;
  secret: KvSecret | undefined;
  fetchedAt: number;
  reading: Promise<void> | undefined;
  problem: string | undefined;
  watchers: Set<Watcher>;
}

export interface VaultSecretSourceOptions {
  /** How long a read is served from memory before Vault is asked again. */
  refreshMs: number;
  logger: Logger;
  metrics?: SecretMetrics;
  reportDegraded?: DegradedReporter;
  now?: () => number;
}

/**
 * `vault:MOUNT/PATH#FIELD`: secrets from Vault KV v2. Reads are cached for
 * `refreshMs`; watched secrets are re-read on that period and each new
 * version is handed to the watchers (key pools stage it as a canary). When
 * Vault cannot be reached the last known secrets keep being served and the
 * source reports itself degraded until a read succeeds again.
 */
export class VaultSecretSource implements SecretSource {
  readonly scheme = "vault" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private degraded = false;

  constructor(
    private readonly client: VaultClient,
    private readonly options: VaultSecretSourceOptions,
  ) {
    this.logger = options.logger.child({ component: "vault" });
    this.now = options.now ?? Date.now;
  }

  async resolve(ref: SecretRef): Promise<string> {
    return (await this.read(ref)).value;
  }

  async read(ref: SecretRef): Promise<SecretVersion> {
    const target = parseVaultRef(ref);
    const entry = this.entry(target);
    if (!entry.secret || this.now() - entry.fetchedAt >= this.options.refreshMs) {
      try {
        await this.fetch(entry);
      } catch (err) {
        // With a known version, a failed re-read is no reason to fail: serve what we have.
        if (!entry.secret) throw new ConfigError("vault", ref.raw, (err as Error).message);
      }
    }
    return versionOf(entry.secret!, target, ref);
  }

  /** A given version, read straight from Vault (the cache holds the latest only). */
  async readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const target = parseVaultRef(ref);
    let secret: KvSecret;
    try {
      secret = await this.client.readKv(target.mount, target.path, version);
    } catch (err) {
      throw new ConfigError("vault", ref.raw, err instanceof VaultError ? err.message : `Vault read of version ${version} failed`);
    }
    return versionOf(secret, target, ref);
  }

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void): () => void {
    const target = parseVaultRef(ref);
    const entry = this.entry(target);
    const watcher: Watcher = { field: target.field, raw: ref.raw, onChange };
    entry.watchers.add(watcher);
    this.timer ??= setInterval(() => void this.refreshWatched(), this.options.refreshMs).unref();
    return () => entry.watchers.delete(watcher);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.client.close();
  }

  /** Re-reads every watched secret whose cached copy is due. */
  async refreshWatched(): Promise<void> {
    const due = [...this.entries.values()].filter((entry) => entry.watchers.size > 0 && this.now() - entry.fetchedAt >= this.options.refreshMs * 0.9);
    await Promise.all(due.map((entry) => this.fetch(entry).catch(() => undefined)));
  }

  private entry(target: VaultRef): Entry {
    const key = `${target.mount}/${target.path}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { mount: target.mount, path: target.path, secret: undefined, fetchedAt: 0, reading: undefined, problem: undefined, watchers: new Set() };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** One read of the latest version at a time per secret; a new version is passed to the watchers. */
  private fetch(entry: Entry): Promise<void> {
    entry.reading ??= this.client
      .readKv(entry.mount, entry.path)
      .then(
        (secret) => {
          const previous = entry.secret;
          entry.secret = secret;
          entry.fetchedAt = this.now();
          this.setProblem(entry, undefined);
          if (previous && previous.version !== secret.version) this.announce(entry, secret, previous);
        },
        (err: unknown) => {
          const message = err instanceof VaultError ? err.message : `Vault read ${entry.mount}/${entry.path} failed`;
          this.setProblem(entry, message);
          throw err;
        },
      )
      .finally(() => {
        entry.reading = undefined;
      });
    return entry.reading;
  }

  private announce(entry: Entry, secret: KvSecret, previous: KvSecret): void {
    this.logger.info({ path: `${entry.mount}/${entry.path}`, version: secret.version, previousVersion: previous.version }, "new version of a Vault secret");
    for (const watcher of entry.watchers) {
      const value = fieldOf(secret, watcher.field);
      if (value === undefined) {
        this.logger.error({ ref: watcher.raw, version: secret.version }, `${missingField(secret, { mount: entry.mount, path: entry.path, field: watcher.field })}; keeping the current key`);
        continue;
      }
      try {
        watcher.onChange({ value, version: secret.version });
      } catch (err) {
        this.logger.error({ ref: watcher.raw, error: (err as Error).message }, "could not stage a new version of a Vault secret");
      }
    }
  }

  /** Tracks each secret's last read; the source is degraded while any watched read fails. */
  private setProblem(entry: Entry, problem: string | undefined): void {
    entry.problem = problem;
    const first = [...this.entries.values()].find((e) => e.problem !== undefined);
    const degraded = first !== undefined;
    this.options.metrics?.sourceUp.set({ source: "vault" }, degraded ? 0 : 1);
    if (degraded !== this.degraded) {
      this.degraded = degraded;
      if (degraded) this.logger.warn({ error: first.problem }, "Vault cannot be read: serving the last known secrets");
      else this.logger.info("Vault can be read again");
    }
    // Health shows the latest reason ("connection reset" while Vault stops becomes "connection refused").
    this.options.reportDegraded?.("vault", first?.problem);
  }
}

/** The referenced field of a read secret, with its version; a missing field names the fields there are. */
function versionOf(secret: KvSecret, target: VaultRef, ref: SecretRef): SecretVersion {
  const value = fieldOf(secret, target.field);
  if (value === undefined) throw new ConfigError("vault", ref.raw, missingField(secret, target));
  return { value, version: secret.version };
}

function fieldOf(secret: KvSecret, field: string): string | undefined {
  const value = secret.data[field];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function missingField(secret: KvSecret, target: VaultRef): string {
  // Field names only: the values are secrets.
  const fields = Object.keys(secret.data).sort().join(", ") || "none";
  return `version ${secret.version} of ${target.mount}/${target.path} has no non-empty string field "${target.field}" (fields: ${fields})`;
}
