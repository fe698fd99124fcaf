import { randomUUID } from "node:crypto";
import { defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type SpanContext, type Tracer } from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace";
import type { AttemptReason, AttemptSpan, AttemptTarget } from "./call-trace.js";
import { callerTraceState } from "./caller-tracestate.js";
import { ATTR, operationName, providerName } from "./genai-attributes.js";
import type { Logger } from "./logger.js";
import type { GatewayMetrics } from "./metrics.js";
import { setSpanAttributes, spanStatusMessage, spanText } from "./span-text.js";
import type { SamplerSpec, TracingConfig } from "./tracing-config.js";
import type { CallSpanEnd, HeaderReader, Surface, TracedCall, Tracing } from "./tracing.js";
import { ThrottledWarning } from "./throttled-warning.js";

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** A failed export is logged at most this often; the metric counts every one. */
const EXPORT_WARNING_EVERY_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Tracing with the OpenTelemetry SDK: a tracer provider of this gateway's own
 * (nothing registered globally, so tests can run several gateways in one
 * process), spans batched and exported over OTLP/HTTP. Context is passed by
 * hand, from the envelope's call span to the attempts' spans, rather than
 * through an async-local context manager: nothing else in the process needs it.
 */
export function createOtelTracing(config: TracingConfig, deps: { logger: Logger; metrics: GatewayMetrics }): Tracing {
  const exporter = new CountingExporter(
    new OTLPTraceExporter({ url: config.url, headers: config.headers, timeoutMillis: config.timeoutMs, compression: config.compression as ExporterConfig["compression"] }),
    deps,
  );
  const root = rootSamplerOf(config.sampler);
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ "service.instance.id": randomUUID(), ...config.resource })),
    sampler: config.sampler.parentBased ? new ParentBasedSampler({ root }) : root,
    // The SDK's own cut too, for what is set without setSpanAttributes (the attempts' attributes, events', links').
    spanLimits: { attributeValueLengthLimit: config.attributeValueLengthLimit },
    spanProcessors: [new BatchSpanProcessor({ exporter, ...definedOnly(config.batch) })],
  });
  const tracer = provider.getTracer("switchboard");
  const propagator = new W3CTraceContextPropagator();
  return {
    enabled: true,
    startCall(method, surface, requestId, carrier, read, authenticated = () => false) {
      return new OtelCall(tracer, method, surface, requestId, callerContext(propagator, carrier, read), config, authenticated);
    },
    async shutdown() {
      await Promise.race([provider.shutdown(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_TIMEOUT_MS).unref())]);
    },
  };
}

/** The caller's trace, from its traceparent and tracestate headers (gRPC metadata are headers too; the tracestate less secrets: callerTraceState); the root when it sent none. */
function callerContext<C>(propagator: W3CTraceContextPropagator, carrier: C, read: HeaderReader<C>): Context {
  const traceparent = read(carrier, "traceparent");
  if (!traceparent) return ROOT_CONTEXT;
  const header = read(carrier, "tracestate");
  const tracestate = header ? callerTraceState(header) : undefined;
  return propagator.extract(ROOT_CONTEXT, tracestate ? { traceparent, tracestate } : { traceparent }, defaultTextMapGetter);
}

/** A call's span, once started, and the answer's headers that name it. */
interface StartedSpan {
  span: Span;
  responseHeaders: Readonly<Record<string, string>>;
}

class OtelCall implements TracedCall {
  recordsContent = false;
  /** When the call arrived (a performance.now() time): its span, started once the call is settled, starts then. */
  private readonly arrivedAt = performance.now();
  private started: StartedSpan | undefined;
  private parent: Context | undefined;
  private operation = "chat";

  constructor(
    private readonly tracer: Tracer,
    private readonly method: string,
    private readonly surface: Surface,
    private readonly requestId: string,
    private readonly caller: Context,
    private readonly config: Pick<TracingConfig, "recordsContent" | "attributeValueLengthLimit">,
    private readonly authenticated: () => boolean,
  ) {}

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get recording(): boolean {
    return this.span.isRecording();
  }

  get responseHeaders(): Readonly<Record<string, string>> {
    return this.settled().responseHeaders;
  }

  admitted(kind: string, requestedModel: string): void {
    this.operation = operationName(kind);
    this.recordsContent = kind !== "embed" && this.config.recordsContent(requestedModel);
    // The model as a caller named it, masked there only (the routes' globs above read it whole).
    this.setAttributes(this.span, { [ATTR.operationName]: this.operation, [ATTR.requestModel]: requestedModel });
  }

  attempt(target: AttemptTarget, reason: AttemptReason): AttemptSpan {
    this.parent ??= trace.setSpan(ROOT_CONTEXT, this.span);
    const { provider } = target.candidate;
    const span = this.tracer.startSpan(
      this.operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR.operationName]: this.operation,
          [ATTR.providerName]: providerName(provider),
          [ATTR.provider]: provider,
          [ATTR.credentialId]: target.credential.id,
          [ATTR.attemptReason]: reason,
          [ATTR.hedged]: target.hedged,
        },
      },
      this.parent,
    );
    // The upstream model may be the caller's text (a glob route, "provider/model"): masked, once, for a span that records.
    if (span.isRecording()) {
      const upstreamModel = spanText(target.candidate.upstreamModel);
      span.updateName(`${this.operation} ${upstreamModel}`);
      span.setAttribute(ATTR.requestModel, upstreamModel);
    }
    return new OtelAttempt(span);
  }

  end({ attributes, error, firstTokenAt }: CallSpanEnd): void {
    this.setAttributes(this.span, attributes);
    if (firstTokenAt !== undefined) this.span.addEvent("gen_ai.first_token", undefined, firstTokenAt);
    if (error && this.span.isRecording()) {
      this.span.setAttribute(ATTR.errorType, error.type);
      // A message may quote a caller's text (the model it named).
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: spanStatusMessage(error.message) });
    }
    // On the clock it started on: a span given its start time would end on the wall clock.
    this.span.end(performance.now());
  }

  private get span(): Span {
    return this.settled().span;
  }

  private setAttributes(span: Span, attributes: CallSpanEnd["attributes"]): void {
    setSpanAttributes(span, attributes, this.config.attributeValueLengthLimit);
  }

  /** The call's span, started the first time it is needed: by then the envelope knows whether a key authenticated the call (see Tracing). */
  private settled(): StartedSpan {
    if (this.started) return this.started;
    const rest = this.surface === "rest";
    const callerSpan = trace.getSpanContext(this.caller);
    // Trusted, the caller's trace is continued; else a trace of the gateway's own starts, sampled by the root sampler, linked to the caller's.
    const trusted = this.authenticated();
    const links: Link[] = !trusted && callerSpan ? [{ context: callerSpan }] : [];
    const span = this.tracer.startSpan(
      this.method,
      {
        kind: SpanKind.SERVER,
        startTime: this.arrivedAt,
        links,
        attributes: {
          [ATTR.surface]: this.surface,
          ...(rest ? { [ATTR.httpRoute]: this.method.slice("REST ".length) } : { [ATTR.rpcSystem]: this.surface === "connect" ? "connect_rpc" : "grpc", [ATTR.rpcMethod]: this.method }),
        },
      },
      trusted ? this.caller : ROOT_CONTEXT,
    );
    // The caller's x-request-id, when it sent a sane one.
    this.setAttributes(span, { [ATTR.requestId]: this.requestId });
    const context = span.spanContext();
    this.started = { span, responseHeaders: { "x-trace-id": context.traceId, traceresponse: traceparentOf(context) } };
    return this.started;
  }
}

class OtelAttempt implements AttemptSpan {
  readonly headers: Readonly<Record<string, string>>;
  private first = false;

  constructor(private readonly span: Span) {
    // The attempt's own traceparent only: the caller's tracestate is not the vendor's to see (callerTraceState).
    this.headers = { traceparent: traceparentOf(span.spanContext()) };
  }

  firstToken(): void {
    if (this.first) return;
    this.first = true;
    this.span.addEvent("gen_ai.first_token");
  }

  end(outcome: string, status?: string): void {
    this.span.setAttribute(ATTR.attemptOutcome, outcome);
    const code = Number(status);
    if (Number.isInteger(code) && code >= 100) this.span.setAttribute(ATTR.httpStatus, code);
    if (outcome !== "ok") {
      this.span.setAttribute(ATTR.errorType, outcome);
      // The outcome only: a vendor's error message may quote what was sent.
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    }
    this.span.end();
  }
}

/** A span's context as a W3C traceparent: version 00, trace id, span id, flags. */
function traceparentOf(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The sampler of traces the gateway starts (the `parentbased_` forms wrap it, for authenticated calls that continue a caller's). */
function rootSamplerOf(spec: SamplerSpec): Sampler {
  return spec.kind === "always_on" ? new AlwaysOnSampler() : spec.kind === "always_off" ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(spec.ratio);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The OTLP exporter, counted (switchboard_trace_spans_exported_total) and its failures logged now and then. */
class CountingExporter implements SpanExporter {
  private readonly failures: ThrottledWarning;

  constructor(
    private readonly inner: SpanExporter,
    private readonly deps: { logger: Logger; metrics: GatewayMetrics },
  ) {
    this.failures = new ThrottledWarning(deps.logger, "tracing: spans could not be exported", EXPORT_WARNING_EVERY_MS, () => performance.now());
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      const ok = result.code === ExportResultCode.SUCCESS;
      this.deps.metrics.traceSpansExported.inc({ result: ok ? "ok" : "failed" }, spans.length);
      if (!ok) this.failures.note(() => ({ spans: spans.length, error: result.error?.message }));
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
