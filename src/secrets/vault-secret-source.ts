import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { fieldNamesOf } from "./field-names.js";
import { PolledSecretCache } from "./polled-secret-cache.js";
import type { SecretGone } from "./secret-gone.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretSource, SecretVersion } from "./secret-source.js";
import { SecretVersionGone } from "./secret-version-gone.js";
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
 * Vault cannot be reached, or refuses the read (403), the last known secrets
 * keep being served and the source reports itself degraded until a read
 * succeeds again. When Vault answers that a version in use was deleted or
 * destroyed (the latest, or an earlier one the watchers still use, read by
 * number on each poll), or that nothing is at the path any more, it is not
 * served again and the watchers are told (key pools disable the keys holding
 * it). Only Vault's own answer counts (vault-error.ts): any other 404 is an
 * outage.
 */
export class VaultSecretSource implements SecretSource {
  readonly scheme = "vault" as const;
  /** One KV v2 secret (all its fields at one version) per MOUNT/PATH. */
  private readonly cache: PolledSecretCache<VaultRef, KvSecret>;

  constructor(
    private readonly client: VaultClient,
    options: VaultSecretSourceOptions,
  ) {
    this.cache = new PolledSecretCache({
      source: "vault",
      backend: {
        parse: parseVaultRef,
        keyOf: (target) => `${target.mount}/${target.path}`,
        fetchLatest: (target) => client.readKv(target.mount, target.path),
        versionOf: (secret) => secret.version,
        supersedes: (secret, previous) => secret.version !== previous.version,
        valueOf: versionOf,
        problemOf: (err, path) => (err instanceof VaultError ? err.message : `Vault read ${path} failed`),
        goneOf: (err, target, held) => goneOf(client, err, target, held),
        goneVersion: (target, version) => versionGone(client, target, version),
      },
      wording: { service: "Vault", aSecret: "a Vault secret", keyField: "path", where: "in Vault", unusable: (err) => ({ msg: `${err.problem}; keeping the current key` }) },
      refreshMs: options.refreshMs,
      unreadSecretsDegrade: true,
      logger: options.logger.child({ component: "vault" }),
      metrics: options.metrics,
      reportDegraded: options.reportDegraded,
      now: options.now ?? Date.now,
    });
  }

  async resolve(ref: SecretRef): Promise<string> {
    return (await this.read(ref)).value;
  }

  read(ref: SecretRef): Promise<SecretVersion> {
    return this.cache.read(ref);
  }

  /**
   * A given version, read straight from Vault (the cache holds the latest only). Vault's answer
   * that it has that version no more (deleted, destroyed, or no longer kept) is a SecretVersionGone.
   */
  async readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const target = parseVaultRef(ref);
    let secret: KvSecret;
    try {
      secret = await this.client.readKv(target.mount, target.path, version);
    } catch (err) {
      const message = err instanceof VaultError ? err.message : `Vault read of version ${version} failed`;
      if (err instanceof VaultError && err.gone) throw new SecretVersionGone("vault", ref.raw, message, { version, reason: absentReason(target, version, err) });
      throw new ConfigError("vault", ref.raw, message);
    }
    return versionOf(secret, target, ref);
  }

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void, inUse?: () => Iterable<number>): () => void {
    return this.cache.watch(ref, onChange, onGone, inUse);
  }

  async close(): Promise<void> {
    this.cache.close();
    this.client.close();
  }

  /** Re-reads every watched secret whose cached copy is due. */
  refreshWatched(): Promise<void> {
    return this.cache.refreshWatched();
  }
}

/**
 * Whether a failed read of the latest version says the version held is gone.
 * Only Vault's own answer counts (vault-error.ts): with a version's metadata,
 * that version was deleted or destroyed; `{"errors":[]}`, nothing is at the
 * path. Unless the version held is the one deleted, it is read by number too
 * before anything is disabled: a path emptied (every version gone) needs that
 * second answer, and a newer version deleted, never served, leaves it be. A
 * 403 is not an answer about the secret (a token or a policy, perhaps changed
 * by mistake for every path at once): the last known version is served on.
 */
async function goneOf(client: VaultClient, err: unknown, target: VaultRef, held: KvSecret): Promise<SecretGone | undefined> {
  if (!(err instanceof VaultError) || !err.gone) return undefined;
  const path = `${target.mount}/${target.path}`;
  if (err.deleted?.version === held.version) return { version: held.version, reason: deletedReason(path, held.version, err.deleted.destroyed) };
  const again = await readFailure(client, target, held.version);
  if (again?.deleted?.version === held.version) return { version: held.version, reason: deletedReason(path, held.version, again.deleted.destroyed) };
  if (err.nothingThere && again?.nothingThere) return { version: undefined, reason: `nothing is at ${path} in Vault any more (every version is gone)` };
  return undefined;
}

/**
 * Whether Vault answers that `version`, one a watcher still uses, was deleted or destroyed. A version
 * no longer kept (older than the secret's `max_versions`) was not deleted by anyone: it is served on.
 */
async function versionGone(client: VaultClient, target: VaultRef, version: number): Promise<SecretGone | undefined> {
  const failure = await readFailure(client, target, version);
  if (failure?.deleted?.version !== version) return undefined;
  return { version, reason: deletedReason(`${target.mount}/${target.path}`, version, failure.deleted.destroyed) };
}

/** How a read of `version` failed; undefined when it succeeded. */
async function readFailure(client: VaultClient, target: VaultRef, version: number): Promise<VaultError | undefined> {
  try {
    await client.readKv(target.mount, target.path, version);
    return undefined;
  } catch (err) {
    return err instanceof VaultError ? err : new VaultError(`read ${target.mount}/${target.path} version ${version}`, "Vault read failed");
  }
}

/** Why Vault has `version` no more, from its answer (`gone`). */
function absentReason(target: VaultRef, version: number, err: VaultError): string {
  const path = `${target.mount}/${target.path}`;
  if (err.deleted?.version === version) return deletedReason(path, version, err.deleted.destroyed);
  return `version ${version} of ${path} is not in Vault any more (deleted with its secret, or older than the versions Vault keeps)`;
}

function deletedReason(path: string, version: number, destroyed: boolean): string {
  return `version ${version} of ${path} was ${destroyed ? "destroyed" : "deleted"} in Vault`;
}

/** The referenced field of a read secret, with its version; a missing field names the fields there are (never their values). */
function versionOf(secret: KvSecret, target: VaultRef, ref: Pick<SecretRef, "raw">): SecretVersion {
  const value = secret.data[target.field];
  if (typeof value !== "string" || value === "") {
    const fields = fieldNamesOf(secret.data);
    throw new ConfigError("vault", ref.raw, `version ${secret.version} of ${target.mount}/${target.path} has no non-empty string field "${target.field}" (fields: ${fields})`);
  }
  return { value, version: secret.version };
}
