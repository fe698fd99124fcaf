import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { timerMs, timerMsTimes } from "./durations.js";
import { urlWithoutCredentials } from "../common/url-without-credentials.js";

/**
 * Where secrets live besides the environment. Holds no secret: the data key,
 * Vault tokens and AppRole credentials are read from the environment (or a key
 * file) when they are needed, and never copied into the configuration.
 */
export interface SecretsConfig {
  /** The encrypted secrets file that `file:` references read. */
  file: string;
  /** A file holding the encrypted file's data key, when SWITCHBOARD_SECRET_KEY is not set. */
  keyFile?: string;
  vault: VaultConfig;
  /** AWS Secrets Manager, behind `aws-sm:` references. */
  aws: AwsSecretsConfig;
  /** The encrypted store in the gateway's own database, behind `db:` references. */
  db: DbSecretsConfig;
}

export interface AwsSecretsConfig {
  /** AWS_REGION (or AWS_DEFAULT_REGION, or secrets.aws.region); unset leaves it to the SDK's shared config file. */
  region?: string;
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL, or secrets.aws.endpoint): another endpoint (a VPC endpoint, a test server). */
  endpoint?: string;
  /** How often watched secrets are described again, to see a new AWSCURRENT or AWSPENDING version. */
  refreshMs: number;
  /** Upper bound for one AWS request. */
  timeoutMs: number;
}

/** Which key-encryption key wraps the database store's data keys. */
export type KekKind = "local" | "vault-transit" | "aws-kms";

export interface DbSecretsConfig {
  /** SWITCHBOARD_SECRET_KEK or secrets.db.kek: "local" (SWITCHBOARD_SECRET_KEY), "vault-transit" or "aws-kms". */
  kek: KekKind;
  /** Vault Transit: the engine's mount ("transit") and the key's name ("switchboard"). */
  transit: { mount: string; key: string };
  /** AWS KMS: the key (id, ARN or alias/…; SWITCHBOARD_KMS_KEY_ID), its region and endpoint (AWS_ENDPOINT_URL_KMS). */
  kms: { keyId?: string; region?: string; endpoint?: string };
  /** How often watched `db:` secrets are checked for a new version when no Redis carries the news. */
  refreshMs: number;
}

export interface VaultConfig {
  /** VAULT_ADDR, e.g. "https://vault.example.com:8200"; unset when Vault is not used. */
  address?: string;
  /** Vault Enterprise / OpenBao namespace (VAULT_NAMESPACE). */
  namespace?: string;
  /** Where the AppRole auth method is mounted ("approle"). */
  approleMount: string;
  /** How long a secret read from Vault is cached before it is read again (and a newer version staged). */
  refreshMs: number;
  /** Upper bound for one Vault request. */
  timeoutMs: number;
}

/** How key pools treat failing keys and canaries. */
export interface KeyPoolConfig {
  /** Share of a provider's traffic a staged canary receives, in (0, 1]. */
  canaryShare: number;
  /** Successful calls before a canary with no worse an error rate than the active keys is promoted. */
  promoteAfter: number;
  /** Failed calls after which a canary worse than the active keys is rolled back. */
  rollbackAfterErrors: number;
  /** Wait before the first half-open probe of a key the vendor rejected; doubles per failed probe, up to 16 times. 0: probe on the next call. */
  probeAfterMs: number;
  /** Cool-down after a 429 that says nothing about when to retry (doubled for each further 429 in a row). */
  cooldownMs: number;
  /**
   * The longest one 429 benches a key, whatever retry-after the vendor sends: a caller who can make the
   * vendor answer 429 (one oversized request) must not bench a shared key for long. Each further 429 in a
   * row (no success in between, within `cooldownRepeatWindowMs`) doubles it, up to `maxCooldownMs`.
   */
  maxFirstCooldownMs: number;
  /** A 429 that comes later than this after the key's last rate-limit cool-down ended starts over at `maxFirstCooldownMs`. */
  cooldownRepeatWindowMs: number;
  /** The longest a vendor's retry-after (repeated 429s, or an exhausted quota) benches a key. 0: never bench a key, every call reaches the vendor. */
  maxCooldownMs: number;
  /** How often each instance reads the keys operators disabled from the shared store: the longest an instance that missed a DisableKey keeps using the key. */
  disabledKeysRefreshMs: number;
}

/** The longest wait a vendor's retry hint is taken for: the most a caller is told to wait (a key is benched far less, see KeyPoolConfig). */
export const MAX_VENDOR_RETRY_AFTER_MS = 15 * 60_000;

export const DEFAULT_KEY_POOL: KeyPoolConfig = {
  canaryShare: 0.1,
  promoteAfter: 20,
  rollbackAfterErrors: 3,
  probeAfterMs: 60_000,
  cooldownMs: 5_000,
  maxFirstCooldownMs: 60_000,
  cooldownRepeatWindowMs: 120_000,
  maxCooldownMs: 5 * 60_000,
  disabledKeysRefreshMs: 10_000,
};

/** Attempts per AWS call (the first and two retries), all within one timer of `timeout_ms` each (aws-client-settings.ts). */
export const AWS_ATTEMPTS_PER_CALL = 3;

const positiveMs = z.number().int().positive();
/** A refresh period or a request's bound: each runs on a Node timer. */
const timerPositiveMs = timerMs.positive();
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as "eu-west-1"');
const KEK_KINDS: readonly KekKind[] = ["local", "vault-transit", "aws-kms"];

/** `secrets:` in the YAML file. */
export const secretsSchema = z.strictObject({
  /** The encrypted secrets file (default `<data_dir>/secrets.enc`; env SWITCHBOARD_SECRETS_FILE). */
  file: z.string().min(1).optional(),
  /** A file holding the data key (env SWITCHBOARD_SECRET_KEY_FILE; SWITCHBOARD_SECRET_KEY wins). */
  key_file: z.string().min(1).optional(),
  vault: z
    .strictObject({
      address: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
      namespace: z.string().min(1).optional(),
      approle_mount: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_/-]*$/, "must be a mount path such as \"approle\"").optional(),
      refresh_ms: timerPositiveMs.optional(),
      timeout_ms: timerPositiveMs.optional(),
    })
    .optional(),
  aws: z
    .strictObject({
      region: awsRegion.optional(),
      endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
      refresh_ms: timerPositiveMs.optional(),
      timeout_ms: timerMsTimes(AWS_ATTEMPTS_PER_CALL).positive().optional(),
    })
    .optional(),
  db: z
    .strictObject({
      kek: z.enum(["local", "vault-transit", "aws-kms"]).optional(),
      transit_mount: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_/-]*$/, 'must be a mount path such as "transit"').optional(),
      transit_key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Transit key name such as "switchboard"').optional(),
      kms_key_id: z.string().min(1).optional(),
      kms_region: awsRegion.optional(),
      refresh_ms: timerPositiveMs.optional(),
    })
    .optional(),
});

/** `key_pool:` in the YAML file. */
export const keyPoolSchema = z.strictObject({
  canary_share: z.number().gt(0).max(1).optional(),
  promote_after: z.number().int().positive().optional(),
  rollback_after_errors: z.number().int().positive().optional(),
  probe_after_ms: z.number().int().min(0).optional(),
  cooldown_ms: positiveMs.optional(),
  max_first_cooldown_ms: positiveMs.optional(),
  cooldown_repeat_window_ms: positiveMs.optional(),
  max_cooldown_ms: z.number().int().min(0).optional(),
  // At most an hour: it bounds how long a leaked key stays in use on an instance that missed its disable.
  disabled_keys_refresh_ms: positiveMs.max(3_600_000).optional(),
});

export function buildSecrets(declared: z.infer<typeof secretsSchema> | undefined, env: NodeJS.ProcessEnv, dataDir: string): SecretsConfig {
  const address = env.VAULT_ADDR || declared?.vault?.address;
  if (address && !/^https?:\/\/[^/]+/.test(address)) throw new ConfigError("environment", "VAULT_ADDR", `"${urlWithoutCredentials(address)}" is not an http(s) URL`);
  return {
    file: env.SWITCHBOARD_SECRETS_FILE || declared?.file || join(dataDir, "secrets.enc"),
    keyFile: env.SWITCHBOARD_SECRET_KEY_FILE || declared?.key_file,
    vault: {
      address: address?.replace(/\/+$/, ""),
      namespace: env.VAULT_NAMESPACE || declared?.vault?.namespace,
      approleMount: env.VAULT_APPROLE_MOUNT || declared?.vault?.approle_mount || "approle",
      refreshMs: declared?.vault?.refresh_ms ?? 30_000,
      timeoutMs: declared?.vault?.timeout_ms ?? 5_000,
    },
    aws: {
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || declared?.aws?.region,
      endpoint: httpEndpoint(env, "AWS_ENDPOINT_URL_SECRETS_MANAGER") ?? declared?.aws?.endpoint,
      refreshMs: declared?.aws?.refresh_ms ?? 30_000,
      timeoutMs: declared?.aws?.timeout_ms ?? 5_000,
    },
    db: {
      kek: kekKind(env.SWITCHBOARD_SECRET_KEK) ?? declared?.db?.kek ?? "local",
      transit: { mount: declared?.db?.transit_mount ?? "transit", key: declared?.db?.transit_key ?? "switchboard" },
      kms: {
        keyId: env.SWITCHBOARD_KMS_KEY_ID || declared?.db?.kms_key_id,
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || declared?.db?.kms_region || declared?.aws?.region,
        endpoint: httpEndpoint(env, "AWS_ENDPOINT_URL_KMS"),
      },
      refreshMs: declared?.db?.refresh_ms ?? 5_000,
    },
  };
}

/** A service's endpoint variable (AWS_ENDPOINT_URL_<SERVICE>), else the SDK's global AWS_ENDPOINT_URL. */
function httpEndpoint(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const name = env[variable] ? variable : env.AWS_ENDPOINT_URL ? "AWS_ENDPOINT_URL" : undefined;
  const value = name && env[name];
  if (!name || !value) return undefined;
  if (!/^https?:\/\/[^/]+/.test(value)) throw new ConfigError("environment", name, `"${urlWithoutCredentials(value)}" is not an http(s) URL`);
  return value.replace(/\/+$/, "");
}

function kekKind(value: string | undefined): KekKind | undefined {
  if (!value) return undefined;
  if (!(KEK_KINDS as readonly string[]).includes(value)) throw new ConfigError("environment", "SWITCHBOARD_SECRET_KEK", `must be one of ${KEK_KINDS.join(", ")}`);
  return value as KekKind;
}

export function buildKeyPool(declared: z.infer<typeof keyPoolSchema> | undefined): KeyPoolConfig {
  return {
    canaryShare: declared?.canary_share ?? DEFAULT_KEY_POOL.canaryShare,
    promoteAfter: declared?.promote_after ?? DEFAULT_KEY_POOL.promoteAfter,
    rollbackAfterErrors: declared?.rollback_after_errors ?? DEFAULT_KEY_POOL.rollbackAfterErrors,
    probeAfterMs: declared?.probe_after_ms ?? DEFAULT_KEY_POOL.probeAfterMs,
    cooldownMs: declared?.cooldown_ms ?? DEFAULT_KEY_POOL.cooldownMs,
    maxFirstCooldownMs: declared?.max_first_cooldown_ms ?? DEFAULT_KEY_POOL.maxFirstCooldownMs,
    cooldownRepeatWindowMs: declared?.cooldown_repeat_window_ms ?? DEFAULT_KEY_POOL.cooldownRepeatWindowMs,
    maxCooldownMs: declared?.max_cooldown_ms ?? DEFAULT_KEY_POOL.maxCooldownMs,
    disabledKeysRefreshMs: declared?.disabled_keys_refresh_ms ?? DEFAULT_KEY_POOL.disabledKeysRefreshMs,
  };
}
