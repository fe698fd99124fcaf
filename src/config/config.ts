import type { HedgeConfig, TrafficConfig } from "./traffic.js";
import type { KeyPoolConfig, SecretsConfig } from "./secrets-config.js";
import type { UsageConfig } from "./usage-config.js";
import type { CacheConfig, RouteCachePolicy } from "./cache-config.js";
import type { CatalogueConfig } from "./catalogue-config.js";
import type { UnsupportedPolicy } from "../catalogue/request-fitting.js";
import type { ClientLimits } from "../server/client-limits.js";

export type { AwsSecretsConfig, DbSecretsConfig, KeyPoolConfig, SecretsConfig, VaultConfig } from "./secrets-config.js";

/** The schemes a secret reference may start with, one per secret source. */
export const SECRET_SCHEMES = ["env", "file", "vault", "aws-sm", "db"] as const;

/** A secret reference ("scheme:…"), as opposed to a secret pasted where a reference belongs. */
export const SECRET_REF_PATTERN = new RegExp(`^(${SECRET_SCHEMES.join("|")}):.+`);

/** A reference to a secret: resolved by a SecretSource, never stored as text in config. */
/** pino's levels; `LOG_LEVEL` and `log_level` take one of them. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SecretRef {
  scheme: (typeof SECRET_SCHEMES)[number];
  /** What follows the scheme, e.g. "OPENAI_API_KEY" or "secret/openai#api_key". */
  path: string;
  /** The reference as written, for error messages (it holds no secret). */
  raw: string;
}

export interface KeyConfig {
  id: string;
  secret: SecretRef | undefined;
  secondary?: SecretRef;
  weight: number;
}

export interface ProviderConfig {
  name: string;
  dialect: string;
  baseUrl: string;
  keys: KeyConfig[];
  headers: Record<string, string>;
  /** Upper bound for one upstream attempt when the caller sets no deadline. */
  timeoutMs: number;
  /** Streams: upper bound for the wait until the first token of an attempt. */
  firstTokenTimeoutMs?: number;
  /** Hedged unary calls, when configured. */
  hedge?: HedgeConfig;
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** max_tokens sent when a caller gives none, for vendors that require one (Anthropic), to a model whose longest answer the catalogue does not know (the others get that). */
  defaultMaxTokens?: number;
  /** Anthropic: a cache breakpoint on requests whose caller could not mark one (src/providers/anthropic/automatic-prompt-caching.ts); on unless false. */
  automaticPromptCaching?: boolean;
  /** The most texts one embedding request carries; a larger Embed call is sent in batches. */
  embedBatchSize: number;
  /** Its embeddings take token ids (OpenAI's own API, or as the operator declared: token-input-endpoints.ts); absent, they do not. */
  embedTokenInputs?: boolean;
}

export interface RouteConfig {
  /** A model name or glob ("gpt-*"). */
  model: string;
  provider: string;
  /** The vendor's model name when it differs (aliases); the requested name otherwise. */
  upstreamModel?: string;
  /** Models (or "provider/model") to fail over to, in order, each resolved as if requested. */
  fallbacks?: string[];
  /** The response cache's policy for this route's calls; the gateway-wide default when unset. */
  cache?: RouteCachePolicy;
  /** What to do with a request the model cannot honour (a JSON schema on a model without schemas); the catalogue's default when unset. */
  whenUnsupported?: UnsupportedPolicy;
}

export interface ServerConfig {
  port: number;
  host: string;
  shutdownGraceMs: number;
  corsOrigins: string[];
  tls?: { certFile: string; keyFile: string };
  /** Timeouts for slow and idle clients and the connection caps; the server's defaults for those not set. */
  clientLimits: Partial<ClientLimits>;
}

/** The whole validated configuration, built once at start-up. */
/** The largest certificate chain or key file read (server.tls): a long chain is some tens of KB. */
export const TLS_FILE_MAX_BYTES = 1024 * 1024;

export interface GatewayConfig {
  server: ServerConfig;
  dataDir: string;
  logLevel: LogLevel;
  providers: ProviderConfig[];
  routes: RouteConfig[];
  /** Retries, retry budget and circuit breakers; defaults when absent. */
  traffic?: TrafficConfig;
  /** The encrypted file, Vault, AWS Secrets Manager and the database store behind `file:`, `vault:`, `aws-sm:` and `db:` references; defaults when absent. */
  secrets?: SecretsConfig;
  /** How key pools cool down, probe and promote keys; defaults when absent. */
  keyPool?: KeyPoolConfig;
  /** Gateway keys, limits, budgets, pricing and the usage store; defaults when absent. */
  usage?: UsageConfig;
  /** The response cache; defaults when absent. */
  cache?: CacheConfig;
  /** The operator's model catalogue rows and its policy for requests a model cannot honour; the shipped catalogue alone when absent. */
  catalogue?: CatalogueConfig;
}

export function parseSecretRef(raw: string): SecretRef {
  const colon = raw.indexOf(":");
  return { scheme: raw.slice(0, colon) as SecretRef["scheme"], path: raw.slice(colon + 1), raw };
}
