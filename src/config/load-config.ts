import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError } from "./config-error.js";
import { parseSecretRef, type GatewayConfig, type KeyConfig, type ProviderConfig, type RouteConfig } from "./config.js";
import { PROVIDER_PRESETS, presetFor } from "./provider-presets.js";
import { fileSchema, type ConfigFile } from "./schema.js";

const DEFAULT_TIMEOUT_MS = 120_000;

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
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, "", `cannot read the file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(path, "", `not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw fromZod(path, parsed.error);
  return parsed.data;
}

function fromZod(source: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join(".");
  const problem = issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
  return new ConfigError(source, field, problem);
}

export function buildConfig(file: ConfigFile, env: NodeJS.ProcessEnv, source: string): GatewayConfig {
  const port = env.PORT !== undefined ? parsePort(env.PORT) : (file.server?.port ?? 8080);
  const providers = new Map<string, ProviderConfig>();

  // Providers switched on by the environment alone.
  for (const preset of PROVIDER_PRESETS) {
    const prefix = preset.name.toUpperCase();
    const key = env[`${prefix}_API_KEY`];
    const baseUrl = env[`${prefix}_BASE_URL`];
    if (!key && !(preset.keyless && baseUrl)) continue;
    providers.set(preset.name, {
      name: preset.name,
      dialect: preset.dialect,
      baseUrl: checkUrl(baseUrl ?? preset.defaultBaseUrl, "environment", `${prefix}_BASE_URL`),
      keys: [{ id: "env", secret: key ? parseSecretRef(`env:${prefix}_API_KEY`) : undefined, weight: 1 }],
      headers: {},
      timeoutMs: DEFAULT_TIMEOUT_MS,
      maxTokensField: preset.maxTokensField,
    });
  }

  // Providers declared in the file override those from the environment.
  for (const [name, declared] of Object.entries(file.providers ?? {})) {
    const preset = presetFor(name);
    const dialect = declared.dialect ?? preset?.dialect;
    if (!dialect) throw new ConfigError(source, `providers.${name}.dialect`, "required for a provider that is not a known vendor");
    const baseUrl = declared.base_url ?? env[`${name.toUpperCase()}_BASE_URL`] ?? preset?.defaultBaseUrl;
    if (!baseUrl) throw new ConfigError(source, `providers.${name}.base_url`, "required for a provider that is not a known vendor");
    const keys: KeyConfig[] = (declared.keys ?? []).map((key, index) => ({
      id: key.id ?? `key-${index + 1}`,
      secret: parseSecretRef(key.secret),
      secondary: key.secondary ? parseSecretRef(key.secondary) : undefined,
      weight: key.weight,
    }));
    if (declared.api_key) keys.unshift({ id: "default", secret: parseSecretRef(declared.api_key), weight: 1 });
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
      maxTokensField: declared.max_tokens_field ?? preset?.maxTokensField,
    });
  }

  const routes: RouteConfig[] = (file.routes ?? []).map((route, index) => {
    if (!providers.has(route.provider)) {
      throw new ConfigError(source, `routes.${index}.provider`, `unknown provider "${route.provider}" (configured: ${[...providers.keys()].join(", ") || "none"})`);
    }
    return { model: route.model, provider: route.provider, upstreamModel: route.upstream_model };
  });
  // Default routes come after the file's, so the file can override any of them.
  for (const preset of PROVIDER_PRESETS) {
    for (const model of preset.modelPatterns) routes.push({ model, provider: preset.name });
  }

  return {
    server: {
      port,
      host: env.HOST ?? file.server?.host ?? "0.0.0.0",
      shutdownGraceMs: file.server?.shutdown_grace_ms ?? 10_000,
      corsOrigins: file.server?.cors_origins ?? ["*"],
      tls: file.server?.tls ? { certFile: file.server.tls.cert_file, keyFile: file.server.tls.key_file } : undefined,
    },
    dataDir: env.SWITCHBOARD_DATA_DIR ?? file.data_dir ?? "./data",
    logLevel: env.LOG_LEVEL ?? file.log_level ?? "info",
    providers: [...providers.values()],
    routes,
  };
}

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
  throw new ConfigError(source, field, `"${value}" is not an http(s) URL`);
}
