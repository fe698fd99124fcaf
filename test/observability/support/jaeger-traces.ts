// A gateway exporting its spans to the test Jaeger, and reading what it
// exported from Jaeger's query API, as the tracing tests do (the query address
// is SWITCHBOARD_TEST_JAEGER_QUERY).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { ConfigFile } from "../../../src/config/schema.js";
import { startOpenAIFake, type OpenAIFake } from "../../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../../support/gateway.js";
import { requireService } from "../../support/require-service.js";

/** Jaeger's query address, the OpenAI fake the gateway calls (provider "vendor"), and the gateway; all there once the tests run. */
export interface TracedGateway {
  readonly query: string;
  readonly vendor: OpenAIFake;
  readonly gw: TestGateway;
}

export interface TracedGatewayOptions {
  /** Part of the service name its spans are exported under; a random suffix keeps each run's apart. */
  name: string;
  /** The one key the fake takes, which the gateway holds as VENDOR_KEY. */
  vendorKey: string;
  /** The models the fake serves, if not its defaults. */
  models?: string[];
  /** More of the gateway's environment (its sampler, its master key). */
  env?: NodeJS.ProcessEnv;
  routes?: ConfigFile["routes"];
}

/**
 * A gateway exporting every span to the test Jaeger within 100 ms, in front of
 * an OpenAI fake, started before the tests of the describe block that calls
 * this and stopped after them.
 */
export function tracedGatewayOverFake({ name, vendorKey, models, env = {}, routes }: TracedGatewayOptions): TracedGateway {
  const world = {} as { -readonly [K in keyof TracedGateway]: TracedGateway[K] };
  beforeAll(async () => {
    const otlp = requireService("SWITCHBOARD_TEST_JAEGER_OTLP");
    world.query = requireService("SWITCHBOARD_TEST_JAEGER_QUERY");
    world.vendor = await startOpenAIFake({ apiKey: vendorKey, models });
    world.gw = await startGateway(
      { VENDOR_KEY: vendorKey, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_SERVICE_NAME: `switchboard-${name}-${randomBytes(4).toString("hex")}`, OTEL_BSP_SCHEDULE_DELAY: "100", ...env },
      { providers: { vendor: { dialect: "openai", base_url: world.vendor.baseUrl, api_key: "env:VENDOR_KEY" } }, routes },
    );
  });
  afterAll(async () => {
    await world.gw?.stop();
    await world.vendor?.close();
  });
  return world;
}

/** A span as Jaeger's query API gives it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
}

export const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
export const parentOf = (span: JaegerSpan) => span.references.find((ref) => ref.refType === "CHILD_OF")?.spanID;

/** The spans Jaeger holds of a trace now (none: the API answers 404). */
export async function spansIn(query: string, traceId: string): Promise<JaegerSpan[]> {
  const res = await fetch(`${query}/api/traces/${traceId}`);
  if (!res.ok) return [];
  const body = (await res.json()) as { data?: { spans: JaegerSpan[] }[] };
  return body.data?.[0]?.spans ?? [];
}

/** The trace's spans once Jaeger holds at least `count` of them (the gateway exports in batches), and the answer as read. */
export async function spansOf(query: string, traceId: string, count: number): Promise<{ spans: JaegerSpan[]; raw: string }> {
  for (let tries = 0; tries < 300; tries++) {
    const res = await fetch(`${query}/api/traces/${traceId}`);
    if (res.ok) {
      const raw = await res.text();
      const spans: JaegerSpan[] = JSON.parse(raw).data?.[0]?.spans ?? [];
      if (spans.length >= count) return { spans, raw };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Jaeger never held ${count} spans of trace ${traceId}`);
}
