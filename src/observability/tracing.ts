import type { Logger } from "./logger.js";
import type { GatewayMetrics } from "./metrics.js";
import { NO_CALL_TRACE, type CallTrace } from "./call-trace.js";
import { tracingConfigFromEnv } from "./tracing-config.js";

/** The surface a call came in on. */
export type Surface = "connect" | "grpc" | "grpc-web" | "rest";

/** One header of a request, whatever shape its headers have (fetch Headers, Node's headers object). */
export type HeaderReader<C> = (carrier: C, name: string) => string | null | undefined;

/** A span attribute's value, as OpenTelemetry takes it. */
export type SpanAttributeValue = string | number | boolean | string[];

/** How a call's span ends: its attributes, its error, and when its first token went out (a performance.now() time). */
export interface CallSpanEnd {
  attributes: Record<string, SpanAttributeValue | undefined>;
  error?: { type: string; message: string };
  firstTokenAt?: number;
}

/** A call's trace as the envelope holds it: the pipeline's handle, plus what only the envelope does. */
export interface TracedCall extends CallTrace {
  /** The call's span records (tracing is on and the call is sampled): only then are its attributes worth building. */
  readonly recording: boolean;
  /** Headers naming the trace in the answer (`x-trace-id`, `traceresponse`); undefined while tracing is off. */
  readonly responseHeaders: Readonly<Record<string, string>> | undefined;
  end(end: CallSpanEnd): void;
}

/**
 * Tracing as the envelope uses it: a span per call, timed from the call's
 * arrival. A call a gateway key authenticated continues the caller's trace
 * (W3C traceparent/tracestate), and the caller's sampled flag (or trace id,
 * which a ratio sampler reads) picks whether it records. A call no key
 * authenticated is a trust boundary, as W3C Trace Context advises: it starts
 * a trace of the gateway's own, sampled as such, with the caller's context as
 * a link only, so that no one without a key can fill a trace of their choice
 * or have every call exported. Which one a call is gets settled the first
 * time its trace is read (its id, its answer's headers, whether it records),
 * by asking `authenticated`: the envelope reads none of them before the key
 * is checked, and a call read earlier counts as one no key authenticated.
 */
export interface Tracing {
  readonly enabled: boolean;
  startCall<C>(method: string, surface: Surface, requestId: string, carrier: C, read: HeaderReader<C>, authenticated?: () => boolean): TracedCall;
  /** Exports the spans still buffered; call once the server has drained. */
  shutdown(): Promise<void>;
}

export const NO_TRACED_CALL: TracedCall = {
  ...NO_CALL_TRACE,
  recording: false,
  responseHeaders: undefined,
  end() {},
};

/** Tracing switched off: every call gets the same no-op handle. */
export const NO_TRACING: Tracing = {
  enabled: false,
  startCall: () => NO_TRACED_CALL,
  shutdown: async () => {},
};

/**
 * Tracing as the standard OpenTelemetry variables configure it (see
 * tracing-config.ts), or NO_TRACING when they do not. The OpenTelemetry SDK
 * is loaded only then: a gateway without tracing neither loads nor runs it.
 */
export async function startTracing(env: NodeJS.ProcessEnv, deps: { logger: Logger; metrics: GatewayMetrics }): Promise<Tracing> {
  const config = tracingConfigFromEnv(env);
  if (!config) return NO_TRACING;
  const { createOtelTracing } = await import("./otel-tracing.js");
  const tracing = createOtelTracing(config, deps);
  const sampler = `${config.sampler.parentBased ? "parentbased_" : ""}${config.sampler.kind}${config.sampler.kind === "traceidratio" ? ` ${config.sampler.ratio}` : ""}`;
  // The endpoint's origin and path only: never its headers, which may carry a tracing service's key.
  const endpoint = new URL(config.url);
  deps.logger.info({ endpoint: `${endpoint.origin}${endpoint.pathname}`, service: config.resource["service.name"], sampler }, "tracing: exporting spans over OTLP");
  return tracing;
}
