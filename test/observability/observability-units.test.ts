// The parts of tracing and metrics that need no server: reading the standard
// OTEL_* variables, the no-op handles calls hold while tracing is off, and
// the bounded label sets.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { KeyLabels, keyLabelRulesFromEnv, OTHER, BoundedLabel } from "../../src/observability/bounded-labels.js";
import { NO_ATTEMPT_SPAN, NO_CALL_TRACE } from "../../src/observability/call-trace.js";
import { KeyBudgets } from "../../src/observability/key-budgets.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { tracingConfigFromEnv } from "../../src/observability/tracing-config.js";
import { NO_TRACED_CALL, NO_TRACING, startTracing } from "../../src/observability/tracing.js";
import { createLogger } from "../../src/observability/logger.js";

describe("tracing configuration from the standard variables", () => {
  it("is off unless an OTLP endpoint or exporter is configured, and off again when disabled", () => {
    expect(tracingConfigFromEnv({})).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_SERVICE_NAME: "gw" })).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: "otlp" })?.url).toBe("http://localhost:4318/v1/traces");
  });

  it("appends /v1/traces to the base endpoint, takes the traces endpoint as it is, and reads the resource, sampler and headers", () => {
    const config = tracingConfigFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318/",
      OTEL_SERVICE_NAME: "gateway-eu",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=platform%20ops",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc%3D%3D",
      SWITCHBOARD_TRACE_CONTENT: "support-*, gpt-4o",
    })!;
    expect(config.url).toBe("https://collector.example:4318/v1/traces");
    expect(config.resource).toEqual({ "service.name": "gateway-eu", "deployment.environment": "prod", team: "platform ops" });
    expect(config.sampler).toEqual({ kind: "traceidratio", parentBased: true, ratio: 0.25 });
    expect(config.headers).toEqual({ "x-api-key": "abc==" });
    expect([config.recordsContent("support-bot"), config.recordsContent("gpt-4o"), config.recordsContent("gpt-4o-mini")]).toEqual([true, true, false]);
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/traces" })!.url).toBe("http://b:9999/traces");
  });

  it("refuses senseless values, naming the variable", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    const refusal = (env: NodeJS.ProcessEnv) => {
      try {
        tracingConfigFromEnv(env);
      } catch (err) {
        return err instanceof ConfigError ? err.field : String(err);
      }
      return undefined;
    };
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: "jaeger_remote" })).toBe("OTEL_TRACES_SAMPLER");
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })).toBe("OTEL_TRACES_SAMPLER_ARG");
    expect(refusal({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toBe("OTEL_EXPORTER_OTLP_PROTOCOL");
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toBe("OTEL_EXPORTER_OTLP_ENDPOINT");
    expect(refusal({ ...on, OTEL_TRACES_EXPORTER: "zipkin" })).toBe("OTEL_TRACES_EXPORTER");
    expect(refusal({ ...on, OTEL_BSP_SCHEDULE_DELAY: "soon" })).toBe("OTEL_BSP_SCHEDULE_DELAY");
  });

  it("quotes a malformed endpoint without its user information or query", () => {
    const message = (env: NodeJS.ProcessEnv) => {
      try {
        tracingConfigFromEnv(env);
      } catch (err) {
        return String(err);
      }
      throw new Error("the endpoint was taken");
    };
    const traces = message({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://user:s3cretTOKEN@collector/v1/traces?api_key=QUERYSECRET" });
    expect(traces).toContain('"ftp://…@collector/v1/traces?…" is not an http(s) URL');
    // A password with an unencoded / or ? or @ in it, and no scheme at all.
    const odd = [message({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://user:s3cret/TO?KEN@@collector:4318" }), message({ OTEL_EXPORTER_OTLP_ENDPOINT: "user:s3cretTOKEN@collector:4318" })];
    expect(odd[0]).toContain('"http://…@collector:4318/v1/traces" is not an http(s) URL');
    expect(odd[1]).toContain('"…@collector:4318/v1/traces" is not an http(s) URL');
    for (const text of [traces, ...odd]) {
      for (const secret of ["s3cret", "TOKEN", "QUERYSECRET", "user"]) expect(text).not.toContain(secret);
    }
  });
});

describe("tracing off", () => {
  it("gives every call the same no-op handles: no span, no context, nothing allocated per call", async () => {
    const tracing = await startTracing({}, { logger: createLogger("silent"), metrics: new GatewayMetrics({ defaultMetrics: false }) });
    expect(tracing).toBe(NO_TRACING);
    const call = tracing.startCall("switchboard.v1.AIService/Chat", "grpc", "req-1", new Headers({ traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` }), (h, n) => h.get(n));
    expect(call).toBe(NO_TRACED_CALL);
    expect(call.traceId).toBeUndefined();
    expect(call.responseHeaders).toBeUndefined();
    expect(NO_CALL_TRACE.attempt({ candidate: { provider: "p", upstreamModel: "m" }, credential: { id: "p/k" }, hedged: false }, "first")).toBe(NO_ATTEMPT_SPAN);
    expect(NO_ATTEMPT_SPAN.headers).toBeUndefined();
  });
});

describe("bounded labels", () => {
  it("keeps the first values of a label and counts the rest as other", () => {
    const models = new BoundedLabel(2);
    expect(["a", "b", "c", "a", "d"].map((m) => models.of(m))).toEqual(["a", "b", OTHER, "a", OTHER]);
  });

  it("labels marked keys always, the first keys up to the top N, and re-ranks the top N by tokens each minute", () => {
    let now = 0;
    const labels = new KeyLabels({ marked: new Set(["vip"]), top: 2 }, () => now);
    expect(labels.label("vip", "t", 1)).toBe("vip");
    expect(labels.label("a", "t", 1)).toBe("a");
    expect(labels.label("b", "t", 1)).toBe("b");
    expect(labels.label("c", "t", 500)).toBe(OTHER);
    // The heavier key takes a place; the lighter one loses its series.
    expect(labels.rerank()).toEqual([{ keyId: "b", team: "t" }]);
    expect([labels.label("c", "t", 1), labels.label("b", "t", 1)]).toEqual(["c", OTHER]);
    expect(labels.rerank()).toEqual([]); // once a minute at most
    now += 60_000;
    labels.label("b", "t", 1000);
    expect(labels.rerank()).toEqual([{ keyId: "a", team: "t" }]);
    expect([labels.label("c", "t", 1), labels.label("b", "t", 1), labels.label("a", "t", 1), labels.label("vip", "t", 1)]).toEqual(["c", "b", OTHER, "vip"]);
  });

  it("reads the marked keys and the top N from the environment", () => {
    expect(keyLabelRulesFromEnv({ SWITCHBOARD_METRICS_KEYS: "k1, k2", SWITCHBOARD_METRICS_TOP_KEYS: "0" })).toEqual({ marked: new Set(["k1", "k2"]), top: 0 });
    expect(keyLabelRulesFromEnv({}).top).toBe(10);
    expect(() => keyLabelRulesFromEnv({ SWITCHBOARD_METRICS_TOP_KEYS: "-1" })).toThrow(ConfigError);
  });

  it("shows the budgets of marked keys and of the keys nearest their limit, in the current period only", () => {
    let now = 1_000;
    const budgets = new KeyBudgets(() => now);
    const state = (keyId: string, spent: number, periodEndMs = 10_000) => ({ keyId, team: "t", currency: "USD", spent, limit: 100, periodEndMs, seenMs: now });
    budgets.record(state("low", 10));
    budgets.record(state("high", 95));
    budgets.record(state("mid", 50));
    budgets.record(state("ended", 99, 500));
    expect(budgets.shown((key) => key === "low", 1).map((s) => s.keyId)).toEqual(["low", "high"]);
    now = 20_000;
    expect(budgets.shown(() => true, 10)).toEqual([]);
  });
});
