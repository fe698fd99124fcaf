import type { ProviderConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { SecretsConfig } from "../config/secrets-config.js";
import type { Logger } from "../observability/logger.js";
import type { HealthState } from "../common/health-state.js";
import { EncryptedFileStore } from "./encrypted-file-store.js";
import { FileSecretSource } from "./file-secret-source.js";
import type { SecretMetrics } from "./secret-metrics.js";
import { EnvSecretSource, SecretResolver, type SecretSource } from "./secret-source.js";
import { VaultClient, type VaultAuth } from "./vault-client.js";
import { VaultSecretSource } from "./vault-secret-source.js";
import type { SqlDatabase } from "../store/sql.js";
import { AwsSecretSource } from "./aws-secret-source.js";
import { AwsVersionNumbers } from "./aws-version-numbers.js";
import { DbSecretSource } from "./db-secret-source.js";
import { DbSecretStore } from "./db-secret-store.js";
import type { KeyEncryptionKey } from "./kek.js";
import { KmsKek } from "./kek-kms.js";
import { LocalKek } from "./kek-local.js";
import { TransitKek } from "./kek-transit.js";

export interface SecretSourcesInput {
  config: SecretsConfig;
  env: NodeJS.ProcessEnv;
  providers: readonly ProviderConfig[];
  /** The gateway's store: the `db:` secrets, and the numbers of AWS versions. */
  db: SqlDatabase;
  logger: Logger;
  metrics: SecretMetrics;
  health: HealthState;
  /** Renewal timing and clock, for tests. */
  vault?: { renewFraction?: number; now?: () => number };
}

export interface SecretSources {
  resolver: SecretResolver;
  /** `db:` secrets: the admin API writes them, Redis notices wake their watchers. */
  dbSecrets: DbSecretSource;
}

/**
 * The secret sources the configuration calls for: the environment always,
 * the encrypted file (opened on first use), Vault when VAULT_ADDR is set,
 * AWS Secrets Manager (no call until an `aws-sm:` reference is read) and the
 * database store (its key-encryption key built on first use). Vault's and
 * AWS's states are health dependencies ("vault", "aws-sm"): not required,
 * since calls go on with the last known secrets while they are away.
 */
export function createSecretSources(input: SecretSourcesInput): SecretSources {
  const { config, env } = input;
  const warn = (message: string) => input.logger.warn(message);
  const sources: SecretSource[] = [
    new EnvSecretSource(env),
    new FileSecretSource(() => EncryptedFileStore.fromEnv(config.file, env, config.keyFile, warn)),
  ];
  const usesVault = input.providers.some((provider) => provider.keys.some((key) => key.secret?.scheme === "vault" || key.secondary?.scheme === "vault"));
  let vault: VaultClient | undefined;
  if (config.vault.address) {
    const report = sourceHealth(input.health, "vault");
    vault = new VaultClient({
      address: config.vault.address,
      namespace: config.vault.namespace,
      auth: vaultAuth(env, config.vault.approleMount),
      timeoutMs: config.vault.timeoutMs,
      caCertFile: env.VAULT_CACERT || undefined,
      logger: input.logger,
      metrics: input.metrics,
      reportDegraded: report,
      renewFraction: input.vault?.renewFraction,
      now: input.vault?.now,
    });
    sources.push(new VaultSecretSource(vault, { refreshMs: config.vault.refreshMs, logger: input.logger, metrics: input.metrics, reportDegraded: report, now: input.vault?.now }));
  } else if (usesVault) {
    throw new ConfigError("environment", "VAULT_ADDR", 'is not set, but keys refer to "vault:" secrets');
  }
  sources.push(
    new AwsSecretSource({
      ...config.aws,
      env,
      numbers: new AwsVersionNumbers(input.db),
      logger: input.logger,
      metrics: input.metrics,
      reportDegraded: sourceHealth(input.health, "aws-sm", { lazy: true }),
      now: input.vault?.now,
    }),
  );
  const dbSecrets = new DbSecretSource(new DbSecretStore(input.db, () => createKek(config, env, vault, warn)), { refreshMs: config.db.refreshMs, logger: input.logger });
  sources.push(dbSecrets);
  return { resolver: new SecretResolver(sources, input.logger), dbSecrets };
}

/** The key-encryption key the configuration names (secrets.db.kek / SWITCHBOARD_SECRET_KEK). */
function createKek(config: SecretsConfig, env: NodeJS.ProcessEnv, vault: VaultClient | undefined, warn: (message: string) => void): KeyEncryptionKey {
  switch (config.db.kek) {
    case "local":
      return LocalKek.fromEnv(env, config.keyFile, warn);
    case "vault-transit":
      if (!vault || !config.vault.address) throw new ConfigError("environment", "VAULT_ADDR", 'is not set, but the database store\'s key-encryption key is "vault-transit"');
      return new TransitKek(vault, {
        address: config.vault.address,
        namespace: config.vault.namespace,
        ...config.db.transit,
        timeoutMs: config.vault.timeoutMs,
        caCertFile: env.VAULT_CACERT || undefined,
      });
    case "aws-kms":
      if (!config.db.kms.keyId) throw new ConfigError("environment", "SWITCHBOARD_KMS_KEY_ID", 'is not set, but the database store\'s key-encryption key is "aws-kms" (or set secrets.db.kms_key_id)');
      return new KmsKek(config.db.kms.keyId, { region: config.db.kms.region, endpoint: config.db.kms.endpoint, timeoutMs: config.aws.timeoutMs, env });
  }
}

/** Token auth from VAULT_TOKEN, or AppRole from VAULT_ROLE_ID + VAULT_SECRET_ID (AppRole wins when both are set). */
function vaultAuth(env: NodeJS.ProcessEnv, mount: string): VaultAuth {
  const roleId = env.VAULT_ROLE_ID;
  const secretId = env.VAULT_SECRET_ID;
  if (roleId || secretId) {
    if (!roleId || !secretId) throw new ConfigError("environment", roleId ? "VAULT_SECRET_ID" : "VAULT_ROLE_ID", `is required together with ${roleId ? "VAULT_ROLE_ID" : "VAULT_SECRET_ID"}`);
    return { method: "approle", roleId, secretId, mount };
  }
  if (env.VAULT_TOKEN) return { method: "token", token: env.VAULT_TOKEN };
  throw new ConfigError("environment", "VAULT_TOKEN", "is not set: Vault needs VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole");
}

/**
 * Folds a source's parts' problems (Vault's login and reads) into one health
 * dependency named `name`. A lazy one appears only once the source is used.
 */
function sourceHealth(health: HealthState, name: string, options: { lazy?: boolean } = {}): (component: string, problem: string | undefined) => void {
  const problems = new Map<string, string>();
  const publish = () => {
    const first = [...problems.values()][0];
    health.setDependency(name, {
      ok: first === undefined,
      detail: first === undefined ? "ok" : `degraded: serving the last known secrets (${first})`,
      required: false,
    });
  };
  if (!options.lazy) publish();
  return (component, problem) => {
    if (problem === undefined) problems.delete(component);
    else problems.set(component, problem);
    publish();
  };
}
