import type { ProviderConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { SecretsConfig } from "../config/secrets-config.js";
import type { Logger } from "../observability/logger.js";
import type { HealthState } from "../common/health-state.js";
import { loadDataKey } from "./data-key.js";
import { EncryptedFileStore } from "./encrypted-file-store.js";
import { FileSecretSource } from "./file-secret-source.js";
import type { SecretMetrics } from "./secret-metrics.js";
import { EnvSecretSource, SecretResolver, type SecretSource } from "./secret-source.js";
import { VaultClient, type VaultAuth } from "./vault-client.js";
import { VaultSecretSource } from "./vault-secret-source.js";

export interface SecretSourcesInput {
  config: SecretsConfig;
  env: NodeJS.ProcessEnv;
  providers: readonly ProviderConfig[];
  logger: Logger;
  metrics: SecretMetrics;
  health: HealthState;
  /** Renewal timing and clock, for tests. */
  vault?: { renewFraction?: number; now?: () => number };
}

/**
 * The secret sources the configuration calls for: the environment always,
 * the encrypted file (opened on first use), and Vault when VAULT_ADDR is set.
 * Vault's state is a health dependency named "vault": not required, since
 * calls go on with the last known secrets while it is away.
 */
export function createSecretResolver(input: SecretSourcesInput): SecretResolver {
  const { config, env } = input;
  const sources: SecretSource[] = [
    new EnvSecretSource(env),
    new FileSecretSource(() => new EncryptedFileStore(config.file, loadDataKey(env, config.keyFile))),
  ];
  const usesVault = input.providers.some((provider) => provider.keys.some((key) => key.secret?.scheme === "vault" || key.secondary?.scheme === "vault"));
  if (config.vault.address) {
    const report = vaultHealth(input.health);
    const client = new VaultClient({
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
    sources.push(new VaultSecretSource(client, { refreshMs: config.vault.refreshMs, logger: input.logger, metrics: input.metrics, reportDegraded: report, now: input.vault?.now }));
  } else if (usesVault) {
    throw new ConfigError("environment", "VAULT_ADDR", 'is not set, but keys refer to "vault:" secrets');
  }
  return new SecretResolver(sources);
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

/** Folds the Vault parts' problems (login, reads) into one health dependency. */
function vaultHealth(health: HealthState): (component: string, problem: string | undefined) => void {
  const problems = new Map<string, string>();
  const publish = () => {
    const first = [...problems.values()][0];
    health.setDependency("vault", {
      ok: first === undefined,
      detail: first === undefined ? "ok" : `degraded: serving the last known secrets (${first})`,
      required: false,
    });
  };
  publish();
  return (component, problem) => {
    if (problem === undefined) problems.delete(component);
    else problems.set(component, problem);
    publish();
  };
}
