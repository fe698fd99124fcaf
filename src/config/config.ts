import type { HedgeConfig, TrafficConfig } from "./traffic.js";
import type { KeyPoolConfig, SecretsConfig } from "./secrets-config.js";
import type { UsageConfig } from "./usage-config.js";
import type { ClientLimits } from "../server/client-limits.js";

export type { KeyPoolConfig, SecretsConfig, VaultConfig } from "./secrets-config.js";

/** A reference to a secret: resolved by a SecretSource, never stored as text in config. */
export interface SecretRef {
  scheme: "env" | "file" | "vault";
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
  /** max_tokens sent when a caller gives none, for vendors that require one (Anthropic). */
  defaultMaxTokens?: number;
  /** The most texts one embedding request carries; a larger Embed call is sent in batches. */
  embedBatchSize: number;
}

export interface RouteConfig {
  /** A model name or glob ("gpt-*"). */
  model: string;
  provider: string;
  /** The vendor's model name when it differs (aliases); the requested name otherwise. */
  upstreamModel?: string;
  /** Models (or "provider/model") to fail over to, in order, each resolved as if requested. */
  fallbacks?: string[];
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
export interface GatewayConfig {
  server: ServerConfig;
  dataDir: string;
  logLevel: string;
  providers: ProviderConfig[];
  routes: RouteConfig[];
  /** Retries, retry budget and circuit breakers; defaults when absent. */
  traffic?: TrafficConfig;
  /** The encrypted file and Vault behind `file:` and `vault:` references; defaults when absent. */
  secrets?: SecretsConfig;
  /** How key pools cool down, probe and promote keys; defaults when absent. */
  keyPool?: KeyPoolConfig;
  /** Gateway keys, limits, budgets, pricing and the usage store; defaults when absent. */
  usage?: UsageConfig;
}

export function parseSecretRef(raw: string): SecretRef {
  const colon = raw.indexOf(":");
  return { scheme: raw.slice(0, colon) as SecretRef["scheme"], path: raw.slice(colon + 1), raw };
}
