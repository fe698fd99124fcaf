// Whose sampling decision a call's span follows, read back from a real
// Jaeger. With a `parentbased_` sampler the caller's sampled flag decides, as
// W3C means it to, but only for a call a gateway key authenticated: a call
// without a valid key (no key, a wrong one, a path no route serves) is
// sampled as a trace of the gateway's own, at the operator's ratio, however
// its traceparent is flagged. Otherwise anyone who can reach the port could
// have every call exported to a backend that bills by the span.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MASTER_KEY } from "../support/gateway.js";
import { spansIn, tracedGatewayOverFake } from "./support/jaeger-traces.js";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
/** A caller's traceparent that asks for its trace to be sampled. */
const sampled = (traceId: string) => `00-${traceId}-${hex(8)}-01`;

describe("trace sampling: the caller's flag counts only once its key did", () => {
  const traced = tracedGatewayOverFake({
    name: "sampling",
    vendorKey: "sk-sampling-vendor-0123456789",
    // The operator samples none of the gateway's own traces: only a caller's sampled flag can export a span.
    env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" },
    routes: [{ model: "sampled-model", provider: "vendor", upstream_model: "gpt-4o-mini" }],
  });

  it("exports no span of a call without a valid key, whatever its traceparent says; an authenticated call's follows its flag", async () => {
    const { query, gw } = traced;
    const chat = JSON.stringify({ model: "sampled-model", messages: [{ role: "user", content: "hi" }] });
    const unauthenticated: { traceId: string; status: number }[] = [];
    const send = async (path: string, headers: Record<string, string>, body?: string) => {
      const traceId = hex(16);
      const res = await fetch(`${gw.url}${path}`, { method: body === undefined ? "GET" : "POST", headers: { traceparent: sampled(traceId), ...headers }, body });
      await res.arrayBuffer();
      unauthenticated.push({ traceId, status: res.status });
    };
    // A scanner's path, REST and Connect calls without a key, with a wrong one, and a Connect body that does not decode.
    await send("/wp-login.php", {});
    await send("/v1/chat/completions", { "content-type": "application/json" }, chat);
    await send("/v1/chat/completions", { "content-type": "application/json", authorization: "Bearer sk-sb-not-a-key-of-this-gateway-0123456789" }, chat);
    await send("/switchboard.v1.AIService/Chat", { "content-type": "application/json" }, JSON.stringify({ model: "sampled-model", messages: [{ role: "ROLE_USER", content: "hi" }] }));
    await send("/switchboard.v1.AIService/Chat", { "content-type": "application/json" }, "not json");
    expect(unauthenticated.map((call) => call.status)).toEqual([404, 401, 401, 401, 400]);

    // Then an authenticated call asking the same: it is exported (the call's span and its attempt's).
    const traceId = hex(16);
    const answer = await gw.client("connect").chat({ model: "sampled-model", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { traceparent: sampled(traceId) } });
    expect(answer.provider).toBe("vendor");
    await expect.poll(() => spansIn(query, traceId).then((spans) => spans.length), { timeout: 30_000 }).toBe(2);

    // Spans are exported in the order they end: by now the earlier calls' would be in Jaeger, and counted.
    for (const call of unauthenticated) expect(await spansIn(query, call.traceId), `trace of the call answered ${call.status}`).toEqual([]);
    const exported = async () => Number(/^switchboard_trace_spans_exported_total\{result="ok"\} (\d+)$/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);
    await expect.poll(exported).toBeGreaterThanOrEqual(2);
    expect(await exported()).toBe(2);

    // Authenticated, the caller's "not sampled" stands too (on REST as on Connect).
    const unsampled = hex(16);
    await gw.client("connect").chat({ model: "sampled-model", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { traceparent: `00-${unsampled}-${hex(8)}-00` } });
    const last = hex(16);
    const rest = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", traceparent: sampled(last) },
      body: chat,
    });
    expect(rest.status).toBe(200);
    await rest.text();
    await expect.poll(() => spansIn(query, last).then((spans) => spans.length), { timeout: 30_000 }).toBe(2);
    expect(await spansIn(query, unsampled)).toEqual([]);
  });
});
