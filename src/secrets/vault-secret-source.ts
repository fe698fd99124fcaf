import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { PolledSecretCache } from "./polled-secret-cache.js";
import type { SecretGone } from "./secret-gone.js";
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
 * succeeds again. When Vault answers that the version in use was deleted or
 * destroyed, or that nothing is at the path any more, it is not served again
 * and the watchers are told (key pools disable the keys holding it).
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

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void): () => void {
    return this.cache.watch(ref, onChange, onGone);
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
 * A 404 is Vault's definite answer: with a version's metadata, that version
 * was deleted or destroyed; without, nothing is at the path (its metadata or
 * its mount was deleted), so no version is left. When a newer version than
 * the one held was deleted, the held one is asked for by number. A 403 is
 * not an answer about the secret (a token or a policy, perhaps changed by
 * mistake for every path at once): the last known version is served on.
 */
async function goneOf(client: VaultClient, err: unknown, target: VaultRef, held: KvSecret): Promise<SecretGone | undefined> {
  if (!(err instanceof VaultError) || !err.gone) return undefined;
  const path = `${target.mount}/${target.path}`;
  if (err.deleted === undefined) return { version: undefined, reason: `nothing is at ${path} in Vault any more (every version is gone)` };
  if (err.deleted.version === held.version) return { version: held.version, reason: deletedReason(path, err.deleted.version, err.deleted.destroyed) };
  try {
    await client.readKv(target.mount, target.path, held.version);
    return undefined;
  } catch (again) {
    if (!(again instanceof VaultError) || !again.gone) return undefined;
    return { version: held.version, reason: deletedReason(path, held.version, again.deleted?.destroyed === true) };
  }
}

function deletedReason(path: string, version: number, destroyed: boolean): string {
  return `version ${version} of ${path} was ${destroyed ? "destroyed" : "deleted"} in Vault`;
}

/** The referenced field of a read secret, with its version; a missing field names the fields there are (never their values). */
function versionOf(secret: KvSecret, target: VaultRef, ref: Pick<SecretRef, "raw">): SecretVersion {
  const value = secret.data[target.field];
  if (typeof value !== "string" || value === "") {
    const fields = Object.keys(secret.data).sort().join(", ") || "none";
    throw new ConfigError("vault", ref.raw, `version ${secret.version} of ${target.mount}/${target.path} has no non-empty string field "${target.field}" (fields: ${fields})`);
  }
  return { value, version: secret.version };
}
