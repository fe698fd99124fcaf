import { createSecureContext } from "node:tls";
import { LineCounter, parseDocument } from "yaml";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { schemaProblems, yamlProblems } from "./file-problems.js";
import { LOG_LEVELS, parseSecretRef, TLS_FILE_MAX_BYTES, type GatewayConfig, type LogLevel, type KeyConfig, type ProviderConfig, type RouteConfig } from "./config.js";
import { embedBatchSize, PROVIDER_PRESETS, presetBaseUrl, presetFor, type PresetApi, type ProviderPreset } from "./provider-presets.js";
import { isGlob } from "../common/glob.js";
import { readRegularFile, type FileRefused } from "../common/regular-file.js";
import { urlWithoutCredentials } from "../common/url-without-credentials.js";
import { fileSchema, type ConfigFile } from "./schema.js";
import { buildUsageConfig } from "./usage-config.js";
import { buildHedge, buildTraffic, DEFAULT_FIRST_TOKEN_TIMEOUT_MS } from "./traffic.js";
import { buildKeyPool, buildSecrets } from "./secrets-config.js";
import { buildCache, buildRouteCache } from "./cache-config.js";
import { buildCatalogueConfig, checkCatalogueCurrencies } from "./catalogue-config.js";
import { takesTokenInputs } from "./token-input-endpoints.js";

const DEFAULT_TIMEOUT_MS = 120_000;
/** The largest config file read: a long one with every provider and route is some tens of KB. */
const CONFIG_FILE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Builds the configuration from an optional YAML file (`SWITCHBOARD_CONFIG`)
 * and the environment. Zero-config works: `OPENAI_API_KEY` alone enables the
 * provider `openai` with its default routes. Throws ConfigError naming the
 * file, the field and the problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const path = env.SWITCHBOARD_CONFIG;
  const file = path ? readConfigFile(path) : {};
  return buildConfig(file, env, path ?? "environment");
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readRegularFile(path, CONFIG_FILE_MAX_BYTES).bytes.toString("utf8");
  } catch (err) {
    const { refusal } = err as FileRefused;
    throw new ConfigError(path, "", refusal.reason === "unreadable" ? `cannot read the file (${refusal.code})` : (err as FileRefused).message);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) throw manyProblems(path, yamlProblems(doc));
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // Past the alias bound (a billion laughs), or an alias to nothing.
    throw new ConfigError(path, "", `not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw manyProblems(path, schemaProblems(parsed.error, doc, lines));
  return parsed.data;
}

function manyProblems(source: string, [first, ...others]: ConfigProblem[]): ConfigError {
  return new ConfigError(source, first!.field, first!.problem, others);
}

export function buildConfig(file: ConfigFile, env: NodeJS.ProcessEnv, source: string): GatewayConfig {
  const port = env.PORT !== undefined ? parsePort(notEmpty(env, "PORT")) : (file.server?.port ?? 8080);
  const host = env.HOST !== undefined ? notEmpty(env, "HOST") : (file.server?.host ?? "0.0.0.0");
  const dataDir = env.SWITCHBOARD_DATA_DIR !== undefined ? notEmpty(env, "SWITCHBOARD_DATA_DIR") : (file.data_dir ?? "./data");
  const providers = new Map<string, ProviderConfig>();

  // Providers switched on by the environment alone.
  for (const preset of PROVIDER_PRESETS) {
    const prefix = preset.name.toUpperCase();
    const key = env[`${prefix}_API_KEY`];
    const baseUrl = env[`${prefix}_BASE_URL`];
    const keyPair = key ? undefined : keyPairFor(preset, env, prefix);
    if (!key && !keyPair && !(preset.keyless && baseUrl)) continue;
    const api = keyPair ?? presetApiForMode(preset, env[`${prefix}_MODE`], prefix);
    const checkedBaseUrl = checkUrl(baseUrl ?? api.defaultBaseUrl, "environment", `${prefix}_BASE_URL`);
    providers.set(preset.name, {
      name: preset.name,
      dialect: api.dialect,
      baseUrl: checkedBaseUrl,
      keys: [
        keyPair
          ? { id: "env", secret: parseSecretRef(`env:${prefix}_AK`), secondary: parseSecretRef(`env:${prefix}_SK`), weight: 1 }
          : { id: "env", secret: key ? parseSecretRef(`env:${prefix}_API_KEY`) : undefined, weight: 1 },
      ],
      headers: envHeaders(preset, env, prefix),
      timeoutMs: DEFAULT_TIMEOUT_MS,
      firstTokenTimeoutMs: DEFAULT_FIRST_TOKEN_TIMEOUT_MS,
      embedBatchSize: embedBatchSize(preset, api.dialect),
      embedTokenInputs: takesTokenInputs({ dialect: api.dialect, baseUrl: checkedBaseUrl }),
    });
  }

  // Providers declared in the file override those from the environment.
  for (const [name, declared] of Object.entries(file.providers ?? {})) {
    const preset = presetFor(name);
    const dialect = declared.dialect ?? preset?.dialect;
    if (!dialect) throw new ConfigError(source, `providers.${name}.dialect`, "required for a provider that is not a known vendor");
    const baseUrl = declared.base_url ?? env[`${name.toUpperCase()}_BASE_URL`] ?? (preset && presetBaseUrl(preset, dialect));
    if (!baseUrl) throw new ConfigError(source, `providers.${name}.base_url`, "required for a provider that is not a known vendor");
    const keys: KeyConfig[] = (declared.keys ?? []).map((key, index) => ({
      id: key.id ?? `key-${index + 1}`,
      secret: parseSecretRef(key.secret),
      secondary: key.secondary ? parseSecretRef(key.secondary) : undefined,
      weight: key.weight,
    }));
    if (declared.api_key) keys.unshift({ id: "default", secret: parseSecretRef(declared.api_key), weight: 1 });
    if (declared.embed_token_inputs && dialect !== "openai") {
      throw new ConfigError(source, `providers.${name}.embed_token_inputs`, `only the openai dialect sends token ids as embedding input; this provider's is "${dialect}"`);
    }
    if (keys.length === 0) {
      if (!preset?.keyless && !declared.base_url) {
        throw new ConfigError(source, `providers.${name}`, 'needs "api_key" or "keys" (or a "base_url" for a keyless local server)');
      }
      keys.push({ id: "none", secret: undefined, weight: 1 });
    }
    providers.set(name, {
      name,
      dialect,
      baseUrl,
      keys,
      headers: declared.headers ?? {},
      timeoutMs: declared.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      firstTokenTimeoutMs: declared.first_token_timeout_ms ?? Math.min(declared.timeout_ms ?? DEFAULT_TIMEOUT_MS, DEFAULT_FIRST_TOKEN_TIMEOUT_MS),
      hedge: buildHedge(declared.hedge),
      // Each model's own field comes from the model catalogue; this overrides it for the whole provider.
      maxTokensField: declared.max_tokens_field,
      defaultMaxTokens: declared.default_max_tokens,
      automaticPromptCaching: declared.automatic_prompt_caching,
      embedBatchSize: declared.embed_batch_size ?? embedBatchSize(preset, dialect),
      embedTokenInputs: takesTokenInputs({ dialect, baseUrl, declared: declared.embed_token_inputs }),
    });
  }

  const cache = buildCache(file.cache);
  const routes: RouteConfig[] = (file.routes ?? []).map((route, index) => {
    if (!providers.has(route.provider)) {
      throw new ConfigError(source, `routes[${index}].provider`, `unknown provider "${route.provider}" (configured: ${[...providers.keys()].join(", ") || "none"})`);
    }
    return {
      model: route.model,
      provider: route.provider,
      upstreamModel: route.upstream_model,
      fallbacks: route.fallbacks,
      cache: route.cache ? buildRouteCache(route.cache, cache.defaults) : undefined,
      whenUnsupported: route.when_unsupported,
    };
  });
  // Default routes come after the file's, so the file can override any of them. Among the
  // defaults an exact name beats every glob ("text-embedding-004" is Gemini's even though
  // OpenAI's "text-embedding-*" matches it too), and a glob with more fixed characters beats
  // a shorter one ("text-embedding-v3" is DashScope's "text-embedding-v*", not OpenAI's).
  const defaults = PROVIDER_PRESETS.flatMap((preset) => preset.modelPatterns.map((model) => ({ model, provider: preset.name })));
  const fixedChars = (glob: string) => glob.replace(/[*?]/g, "").length;
  const globs = defaults.filter((route) => isGlob(route.model)).sort((a, b) => fixedChars(b.model) - fixedChars(a.model));
  routes.push(...defaults.filter((route) => !isGlob(route.model)), ...globs);
  const usage = buildUsageConfig(file, env, source, dataDir);
  const catalogue = buildCatalogueConfig(file, source);
  checkCatalogueCurrencies(catalogue, usage.pricing.exchangeRates, usage.pricing.currency, source);

  return {
    server: {
      port,
      host,
      shutdownGraceMs: file.server?.shutdown_grace_ms ?? 10_000,
      corsOrigins: file.server?.cors_origins ?? ["*"],
      tls: file.server?.tls ? checkTls(file.server.tls, source) : undefined,
      clientLimits: {
        headersTimeoutMs: file.server?.headers_timeout_ms,
        requestTimeoutMs: file.server?.request_timeout_ms,
        keepAliveTimeoutMs: file.server?.keep_alive_timeout_ms,
        http2IdleTimeoutMs: file.server?.http2_idle_timeout_ms,
        maxConnections: file.server?.max_connections,
        maxConnectionsPerClient: file.server?.max_connections_per_client,
        maxOpenStreams: file.server?.max_open_streams,
        maxOpenStreamsPerClient: file.server?.max_open_streams_per_client,
        streamResetsPerClientPerSecond: file.server?.stream_resets_per_client_per_second,
        streamResetBurstPerClient: file.server?.stream_reset_burst_per_client,
        answerStallTimeoutMs: file.server?.answer_stall_timeout_ms,
        maxBufferedRequestBytes: file.server?.max_buffered_request_bytes,
        maxBufferedRequestBytesPerConnection: file.server?.max_buffered_request_bytes_per_connection,
        maxBufferedRequestBytesPerClient: file.server?.max_buffered_request_bytes_per_client,
        maxHealthWatchesPerClient: file.server?.max_health_watches_per_client,
        healthWatchMaxAgeMs: file.server?.health_watch_max_age_ms,
      },
    },
    dataDir,
    logLevel: env.LOG_LEVEL !== undefined ? parseLogLevel(env.LOG_LEVEL) : (file.log_level ?? "info"),
    providers: [...providers.values()],
    routes,
    traffic: buildTraffic(file.traffic),
    secrets: buildSecrets(file.secrets, env, dataDir),
    keyPool: buildKeyPool(file.key_pool),
    usage,
    cache,
    catalogue,
  };
}

/** The key-pair API when both halves of the pair are set; half a pair is a mistake worth stopping for. */
function keyPairFor(preset: ProviderPreset, env: NodeJS.ProcessEnv, prefix: string): PresetApi | undefined {
  if (!preset.keyPairApi) return undefined;
  const ak = env[`${prefix}_AK`];
  const sk = env[`${prefix}_SK`];
  if (!ak && !sk) return undefined;
  if (!ak || !sk) throw new ConfigError("environment", ak ? `${prefix}_SK` : `${prefix}_AK`, `is required together with ${ak ? `${prefix}_AK` : `${prefix}_SK`}`);
  return preset.keyPairApi;
}

/** Headers a preset takes from the environment (Qianfan v2's `appid` from QIANFAN_APPID). */
function envHeaders(preset: ProviderPreset, env: NodeJS.ProcessEnv, prefix: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, suffix] of Object.entries(preset.envHeaders ?? {})) {
    const value = env[`${prefix}_${suffix}`];
    if (value) headers[header] = value;
  }
  return headers;
}

function presetApiForMode(preset: ProviderPreset, mode: string | undefined, prefix: string): PresetApi {
  if (!mode || mode === preset.defaultMode) return preset;
  const api = preset.modes?.[mode];
  if (api) return api;
  const known = [preset.defaultMode, ...Object.keys(preset.modes ?? {})].filter(Boolean);
  throw new ConfigError("environment", `${prefix}_MODE`, known.length > 0 ? `unknown mode "${mode}" (known: ${known.join(", ")})` : "this provider has no modes");
}

function parseLogLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((known) => known === value);
  if (!level) throw new ConfigError("environment", "LOG_LEVEL", `"${value}" is not one of ${LOG_LEVELS.join(", ")}`);
  return level;
}

/** The certificate and key must load and match now, not when the first client connects. */
function checkTls(tls: { cert_file: string; key_file: string }, source: string): { certFile: string; keyFile: string } {
  const read = (field: "cert_file" | "key_file"): Buffer => {
    try {
      return readRegularFile(tls[field], TLS_FILE_MAX_BYTES).bytes;
    } catch (err) {
      const { refusal } = err as FileRefused;
      throw new ConfigError(source, `server.tls.${field}`, refusal.reason === "unreadable" ? `cannot read "${tls[field]}" (${refusal.code})` : `"${tls[field]}" ${(err as FileRefused).message}`);
    }
  };
  const [cert, key] = [read("cert_file"), read("key_file")];
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's reason names what is wrong (no PEM, a key that does not match the certificate) and never the key.
    throw new ConfigError(source, "server.tls", `the certificate and key do not load (${(err as Error).message})`);
  }
  return { certFile: tls.cert_file, keyFile: tls.key_file };
}

/**
 * A variable that is set must hold something: an empty PORT, HOST or
 * SWITCHBOARD_DATA_DIR (a template that expanded to nothing) would otherwise
 * mean a random port, every interface, or the working directory.
 */
function notEmpty(env: NodeJS.ProcessEnv, variable: "PORT" | "HOST" | "SWITCHBOARD_DATA_DIR"): string {
  const value = env[variable]!;
  if (value.trim() === "") throw new ConfigError("environment", variable, "is set but empty: give it a value, or unset it for the default");
  return value;
}

/** 0 asks the system for a free port: what tests and `npm start` smoke checks use, and logged as the port it got. */
function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError("environment", "PORT", `"${value}" is not a port number`);
  return port;
}

function checkUrl(value: string, source: string, field: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {
    // fall through
  }
  throw new ConfigError(source, field, `"${urlWithoutCredentials(value)}" is not an http(s) URL`);
}
