import { z } from "zod";
import { LOG_LEVELS, SECRET_REF_PATTERN } from "./config.js";
import { usageFileFields } from "./usage-config.js";
import { hedgeSchema, trafficSchema } from "./traffic.js";
import { keyPoolSchema, secretsSchema } from "./secrets-config.js";
import { cacheSchema, routeCacheSchema } from "./cache-config.js";
import { catalogueFileFields, routePolicyField } from "./catalogue-config.js";
import { timerMs } from "./durations.js";

const secretRef = z.string().regex(SECRET_REF_PATTERN, 'must be a secret reference such as "env:OPENAI_API_KEY", never the secret itself');

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const keySchema = z.strictObject({
  // At most 63 characters: the {credential} of providers/{provider}/credentials/{credential} (api/admin/resource-names.ts).
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, "must be 1-63 letters, digits, '.', '_' or '-'").optional(),
  secret: secretRef,
  /** Baidu Qianfan v1 needs a second secret (the Secret Key). */
  secondary: secretRef.optional(),
  weight: z.number().positive().default(1),
});

const providerSchema = z.strictObject({
  dialect: z.string().optional(),
  base_url: httpUrl.optional(),
  api_key: secretRef.optional(),
  keys: z.array(keySchema).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeout_ms: timerMs.positive().optional(),
  /** Streams: time allowed until the first token before the attempt is abandoned and retried elsewhere. */
  first_token_timeout_ms: timerMs.positive().optional(),
  /** Hedged unary calls; off unless set. */
  hedge: hedgeSchema.optional(),
  max_tokens_field: z.enum(["max_tokens", "max_completion_tokens"]).optional(),
  /** max_tokens sent when a caller gives none, for vendors that require one (Anthropic), to a model whose longest answer the catalogue does not know (the others get that). */
  default_max_tokens: z.number().int().positive().optional(),
  /** Anthropic: a cache breakpoint on requests that did not come in as Anthropic Messages (on unless false). */
  automatic_prompt_caching: z.boolean().optional(),
  /** The most texts one embedding request carries (the vendor's limit); larger Embed calls go in batches. */
  embed_batch_size: z.number().int().positive().max(10_000).optional(),
  /** openai dialect: whether the endpoint's embeddings take token ids (a vLLM server's do); unset, only OpenAI's own API's are judged to. */
  embed_token_inputs: z.boolean().optional(),
});

const routeSchema = z.strictObject({
  model: z.string().min(1),
  provider: z.string().min(1),
  upstream_model: z.string().min(1).optional(),
  /** Models (or "provider/model") tried in order when this route's provider fails; each is routed as if requested. */
  fallbacks: z.array(z.string().min(1)).optional(),
  /** The response cache's policy for the calls this route serves (docs/cache.md). */
  cache: routeCacheSchema.optional(),
  /** A request its model cannot honour (a JSON schema on a model with JSON mode only): "degrade" or "refuse" (docs/models.md). */
  ...routePolicyField,
});

/** The YAML file's shape. Every section is optional: environment variables fill the rest. */
export const fileSchema = z.strictObject({
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().optional(),
      shutdown_grace_ms: timerMs.optional(),
      cors_origins: z.array(z.string()).optional(),
      tls: z.strictObject({ cert_file: z.string(), key_file: z.string() }).optional(),
      // Slow and idle clients, and connection caps (defaults and why: src/server/client-limits.ts).
      headers_timeout_ms: timerMs.positive().optional(),
      /** The time to receive a request's body after its headers; never the time to answer. */
      request_timeout_ms: timerMs.positive().optional(),
      keep_alive_timeout_ms: timerMs.positive().optional(),
      http2_idle_timeout_ms: timerMs.positive().optional(),
      max_connections: z.number().int().positive().optional(),
      max_connections_per_client: z.number().int().positive().optional(),
      max_open_streams: z.number().int().positive().optional(),
      max_open_streams_per_client: z.number().int().positive().optional(),
      stream_resets_per_client_per_second: z.number().positive().optional(),
      stream_reset_burst_per_client: z.number().int().positive().optional(),
      answer_stall_timeout_ms: timerMs.positive().optional(),
      max_buffered_request_bytes: z.number().int().positive().optional(),
      max_buffered_request_bytes_per_connection: z.number().int().positive().optional(),
      max_buffered_request_bytes_per_client: z.number().int().positive().optional(),
      max_health_watches_per_client: z.number().int().positive().optional(),
      health_watch_max_age_ms: timerMs.positive().optional(),
    })
    .optional(),
  data_dir: z.string().optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "provider names are 1-63 lower-case letters, digits, '_' and '-'"), providerSchema).optional(),
  routes: z.array(routeSchema).optional(),
  traffic: trafficSchema.optional(),
  secrets: secretsSchema.optional(),
  key_pool: keyPoolSchema.optional(),
  cache: cacheSchema.optional(),
  ...usageFileFields,
  ...catalogueFileFields,
});

export type ConfigFile = z.infer<typeof fileSchema>;
