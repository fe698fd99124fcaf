// Reading what the gateway exported from Jaeger's query API, as the tracing
// tests do (the query address is SWITCHBOARD_TEST_JAEGER_QUERY).

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
