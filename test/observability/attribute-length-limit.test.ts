// Span attributes are held to a value length limit even when the operator sets
// none (OpenTelemetry's default is no limit: a string of unforeseen length would
// be held until export and sent in a batch a collector may refuse whole), and
// the operator's OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT / OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT
// still win. What the gateway cuts says so ("…[N characters cut]"), where the
// SDK's own cut would be silent: recorded prompts under a limit below their
// 16 Ki budget included, read back from a real Jaeger.
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CONTENT_ATTRIBUTE_CHARS } from "../../src/api/envelope/call-span.js";
import { ConfigError } from "../../src/config/config-error.js";
import { ATTR } from "../../src/observability/genai-attributes.js";
import { setSpanAttributes } from "../../src/observability/span-text.js";
import { DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT, tracingConfigFromEnv } from "../../src/observability/tracing-config.js";
import type { SpanAttributeValue } from "../../src/observability/tracing.js";
import { spansOf, tag, tracedGatewayOverFake } from "./support/jaeger-traces.js";

const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
const KEY = "sk-proj-AbCdEf0123456789GhIjKlMnOp";
const TEN_MB = 10_000_000;

describe("the attribute value length limit", () => {
  const limit = (env: NodeJS.ProcessEnv) => tracingConfigFromEnv({ ...ON, ...env })!.attributeValueLengthLimit;

  it("has a default when the operator sets none, above what a recorded message attribute holds with its marker", () => {
    expect(limit({})).toBe(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT);
    expect(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT).toBe(32 * 1024);
    expect(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT).toBeGreaterThan(CONTENT_ATTRIBUTE_CHARS + "…[9999999999 characters cut]".length);
  });

  it("is the operator's when set: the span variable first, then the general one; blank counts as unset", () => {
    expect(limit({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4095" })).toBe(4095);
    expect(limit({ OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: "1000000", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4095" })).toBe(1_000_000);
    expect(limit({ OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: " ", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "" })).toBe(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT);
  });

  it("refuses 0 (the specification defines no value meaning no limit), negatives and words, naming the variable", () => {
    for (const [variable, value] of [
      ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0"],
      ["OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1"],
      ["OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "unlimited"],
    ] as const) {
      expect(() => limit({ [variable]: value })).toThrow(ConfigError);
      expect(() => limit({ [variable]: value })).toThrow(variable);
    }
  });
});

/** The attributes a real SDK span holds once `attributes` are set on it under `maxChars`, the provider held to the same limit. */
async function recorded(attributes: Record<string, SpanAttributeValue>, maxChars: number): Promise<ReadableSpan["attributes"]> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanLimits: { attributeValueLengthLimit: maxChars }, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const span = provider.getTracer("test").startSpan("call");
  setSpanAttributes(span, attributes, maxChars);
  span.end();
  await provider.forceFlush();
  return exporter.getFinishedSpans()[0]!.attributes;
}

describe("attributes set within the limit", () => {
  it("cuts a caller's 10 MB text to the limit, masked, and says how much was cut", async () => {
    const text = `${KEY} ${"hello world ".repeat(TEN_MB / 12)}`;
    const value = String((await recorded({ [ATTR.requestModel]: text }, DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT))[ATTR.requestModel]);
    expect(value.length).toBeLessThanOrEqual(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT);
    expect(value.length).toBeGreaterThan(DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT - 100);
    expect(value).not.toContain(KEY);
    expect(value).toMatch(/^sk-pro… hello world hello/);
    const cut = Number(/…\[(\d+) characters cut\]$/.exec(value)?.[1]);
    expect(cut).toBeGreaterThan(TEN_MB - DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT);
  });

  it("marks a recorded message attribute cut by an operator's limit below its budget, where the SDK cut it silently", async () => {
    const messages = JSON.stringify([{ role: "user", parts: [{ type: "text", content: "x".repeat(CONTENT_ATTRIBUTE_CHARS) }] }]);
    const value = String((await recorded({ [ATTR.inputMessages]: messages }, 4095))[ATTR.inputMessages]);
    expect(value.length).toBeLessThanOrEqual(4095);
    expect(value).toBe(`${messages.slice(0, 4095 - 32)}…[${messages.length - (4095 - 32)} characters cut]`);
  });

  it("keeps what fits whole, cuts each string of a list, and cuts without a marker under a limit too short for one", async () => {
    expect(await recorded({ [ATTR.inputMessages]: "[]", [ATTR.inputTokens]: 7, [ATTR.requestId]: "req-1" }, 100)).toEqual({ [ATTR.inputMessages]: "[]", [ATTR.inputTokens]: 7, [ATTR.requestId]: "req-1" });
    const reasons = (await recorded({ [ATTR.finishReasons]: ["stop", "y".repeat(500)] }, 100))[ATTR.finishReasons] as string[];
    expect(reasons[0]).toBe("stop");
    expect(reasons[1]).toBe(`${"y".repeat(68)}…[432 characters cut]`);
    expect((await recorded({ [ATTR.requestId]: "z".repeat(500) }, 10))[ATTR.requestId]).toBe("z".repeat(10));
  });

  it("never cuts between the halves of a character outside the BMP", async () => {
    const value = String((await recorded({ [ATTR.outputMessages]: `${"a".repeat(67)}${"😀".repeat(100)}` }, 100))[ATTR.outputMessages]);
    expect(value).toMatch(/^a{67}…\[\d+ characters cut\]$/);
  });
});

describe("an operator's limit on a recorded prompt, read back from Jaeger", () => {
  const LIMIT = 2000;
  const traced = tracedGatewayOverFake({
    name: "attrlimit",
    vendorKey: "sk-attrlimit-0123456789abcdef",
    env: { SWITCHBOARD_TRACE_CONTENT: "vendor/*", OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: String(LIMIT) },
  });

  it("holds a 1 MB prompt and its echo to the limit, marked as cut", async () => {
    const { query, gw } = traced;
    const prompt = "tell me more ".repeat(80_000);
    let traceId = "";
    await gw.client("connect").chat({ model: "vendor/gpt-4o", messages: [{ role: Role.USER, content: prompt }] }, { onHeader: (h) => (traceId = h.get("x-trace-id")!) });
    const { spans } = await spansOf(query, traceId, 2);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    for (const name of [ATTR.inputMessages, ATTR.outputMessages]) {
      const value = String(tag(call, name));
      expect(value.length).toBeLessThanOrEqual(LIMIT);
      expect(value).toMatch(/^\[\{"role":"(user|assistant)","parts":\[\{"type":"text","content":"(Echo: )?tell me more .*…\[\d+ characters cut\]$/);
    }
  });
});
