import { ConfigError } from "../config/config-error.js";
import { compileGlob } from "../common/glob.js";
import { urlWithoutCredentials } from "../common/url-without-credentials.js";

/** Which calls a trace records, as OTEL_TRACES_SAMPLER (and its argument) name it. */
export interface SamplerSpec {
  kind: "always_on" | "always_off" | "traceidratio";
  /** Follow the caller's sampling decision when its traceparent carries one (the `parentbased_*` samplers). */
  parentBased: boolean;
  /** traceidratio: the share of traces kept, 0 to 1. */
  ratio: number;
}

/** The tracing settings read from the standard OpenTelemetry variables, plus the gateway's one of its own. */
export interface TracingConfig {
  /** Where spans go: OTLP over HTTP with protobuf bodies, the full URL of the traces endpoint. */
  url: string;
  /** Sent with every export (a tracing service's API key may be among them: never logged). */
  headers: Record<string, string>;
  timeoutMs: number;
  compression: "gzip" | "none";
  sampler: SamplerSpec;
  /** Resource attributes: service.name and OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, string>;
  /** The batch span processor's settings (OTEL_BSP_*); the SDK's defaults where unset. */
  batch: { scheduledDelayMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number; exportTimeoutMillis?: number };
  /** The most characters a span attribute's string holds: OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, else OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, else DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT. */
  attributeValueLengthLimit: number;
  /** Whether a call to this (requested) model records message content: SWITCHBOARD_TRACE_CONTENT's route globs. */
  recordsContent(requestedModel: string): boolean;
}

const SOURCE = "environment";

/**
 * The attribute value length limit when the operator sets none (the
 * specification's default is no limit, and defines no value meaning "none"):
 * a string of unforeseen length (a future attribute, a vendor's odd answer)
 * then stays a few tens of KiB, not megabytes held until export and sent in a
 * batch a collector may refuse whole (gRPC's 4 MiB message cap is common).
 * Twice the 16 Ki characters of a recorded message attribute (call-span.ts),
 * so the "…[N characters cut]" marker of its own cut is never cut off.
 */
export const DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT = 32 * 1024;

const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

/**
 * The tracing settings, or undefined when tracing is off. Tracing is on only
 * when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp asks for the
 * default one (http://localhost:4318); OTEL_SDK_DISABLED=true and
 * OTEL_TRACES_EXPORTER=none switch it off. Senseless values stop the start
 * with the variable's name (ConfigError), as the rest of the configuration does.
 */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporters = list(env.OTEL_TRACES_EXPORTER);
  if (exporters.includes("none")) return undefined;
  const unknown = exporters.filter((name) => name !== "otlp");
  if (unknown.length > 0) throw new ConfigError(SOURCE, "OTEL_TRACES_EXPORTER", `"${unknown.join(", ")}" is not supported: use otlp (or none)`);
  const signalEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!signalEndpoint && !baseEndpoint && exporters.length === 0) return undefined;

  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (protocol !== "http/protobuf") {
    const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
    throw new ConfigError(SOURCE, variable, `"${protocol}" is not supported: the gateway exports OTLP as http/protobuf (a collector's port 4318)`);
  }
  // The signal's own endpoint is used as it is; the base endpoint gets the traces path (the OTLP exporter spec).
  const url = signalEndpoint || `${(baseEndpoint || "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  const variable = signalEndpoint ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new ConfigError(SOURCE, variable, `"${urlWithoutCredentials(url)}" is not an http(s) URL`);

  const compression = (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION ?? "none").trim();
  if (compression !== "gzip" && compression !== "none") throw new ConfigError(SOURCE, "OTEL_EXPORTER_OTLP_COMPRESSION", `"${compression}" is not gzip or none`);

  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  const resource = { ...keyValues(env.OTEL_RESOURCE_ATTRIBUTES, "OTEL_RESOURCE_ATTRIBUTES"), ...(serviceName ? { "service.name": serviceName } : {}) };
  resource["service.name"] ??= "switchboard";

  const contentRoutes = list(env.SWITCHBOARD_TRACE_CONTENT).map(compileGlob);
  return {
    url,
    headers: { ...keyValues(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS"), ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS") },
    timeoutMs: whole(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? whole(env, "OTEL_EXPORTER_OTLP_TIMEOUT") ?? 10_000,
    compression,
    sampler: samplerFromEnv(env),
    resource,
    batch: {
      scheduledDelayMillis: whole(env, "OTEL_BSP_SCHEDULE_DELAY"),
      maxQueueSize: whole(env, "OTEL_BSP_MAX_QUEUE_SIZE"),
      maxExportBatchSize: whole(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
      exportTimeoutMillis: whole(env, "OTEL_BSP_EXPORT_TIMEOUT"),
    },
    attributeValueLengthLimit: whole(env, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? whole(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    recordsContent: (model) => contentRoutes.some((matches) => matches(model)),
  };
}

function samplerFromEnv(env: NodeJS.ProcessEnv): SamplerSpec {
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim().toLowerCase();
  if (!SAMPLERS.includes(name)) throw new ConfigError(SOURCE, "OTEL_TRACES_SAMPLER", `"${name}" is not one of ${SAMPLERS.join(", ")}`);
  const parentBased = name.startsWith("parentbased_");
  const kind = (parentBased ? name.slice("parentbased_".length) : name) as SamplerSpec["kind"];
  let ratio = 1;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (kind === "traceidratio" && arg) {
    ratio = Number(arg);
    if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(SOURCE, "OTEL_TRACES_SAMPLER_ARG", `"${arg}" is not a ratio between 0 and 1`);
  }
  return { kind, parentBased, ratio };
}

/** "a=1,b=2" with percent-encoded values (W3C Baggage's format, which OTEL_RESOURCE_ATTRIBUTES and the OTLP headers use). */
function keyValues(text: string | undefined, variable: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of list(text)) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError(SOURCE, variable, "must be key=value pairs separated by commas");
    try {
      pairs[decodeURIComponent(item.slice(0, eq).trim())] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(SOURCE, variable, "has a badly percent-encoded key or value");
    }
  }
  return pairs;
}

function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function whole(env: NodeJS.ProcessEnv, variable: string): number | undefined {
  const text = env[variable]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(SOURCE, variable, `"${text}" is not a positive whole number`);
  return value;
}
