// Audit issue 17: with the default sampler (parentbased_always_on), callers
// without a gateway key could put any number of spans into a trace id of
// their choosing (20,000 anonymous calls, one traceparent: one trace of
// 20,000 spans in Jaeger). A call no key authenticated is a trust boundary,
// as W3C Trace Context advises: it starts a trace of the gateway's own, which
// its answer names, with the caller's context as a link only. A call a key
// authenticated still continues the caller's trace. Read back from a real Jaeger.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";
import { spansIn, tracedGatewayOverFake } from "./support/jaeger-traces.js";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const WRONG_KEY = "sk-sb-not-a-key-of-this-gateway-0123456789";

describe("a caller's trace context without a gateway key", () => {
  // The default sampler: parentbased_always_on.
  const traced = tracedGatewayOverFake({
    name: "untrusted",
    vendorKey: "sk-untrusted-vendor-0123456789",
    routes: [{ model: "traced-model", provider: "vendor", upstream_model: "gpt-4o-mini" }],
  });

  it("starts a trace of the gateway's own, linked to the caller's, and leaves the caller's trace to authenticated calls", async () => {
    const { query, gw } = traced;
    const callerTrace = hex(16);
    const callerSpan = "1111111111111111";
    const traceparent = `00-${callerTrace}-${callerSpan}-01`;
    const chat = JSON.stringify({ model: "traced-model", messages: [{ role: "user", content: "hi" }] });
    const answers: { what: string; status: number | string; requestId: string | null; traceId: string | null; traceresponse: string | null }[] = [];
    const rest = async (what: string, path: string, headers: Record<string, string>, body?: string) => {
      const res = await fetch(`${gw.url}${path}`, { method: body === undefined ? "GET" : "POST", headers: { traceparent, ...headers }, body });
      await res.arrayBuffer();
      answers.push({ what, status: res.status, requestId: res.headers.get("x-request-id"), traceId: res.headers.get("x-trace-id"), traceresponse: res.headers.get("traceresponse") });
    };
    await rest("a path no route serves", "/v1/chat/complete", { "content-type": "application/json" }, chat);
    await rest("REST without a key", "/v1/chat/completions", { "content-type": "application/json" }, chat);
    await rest("REST with a wrong key", "/v1/chat/completions", { "content-type": "application/json", authorization: `Bearer ${WRONG_KEY}` }, chat);
    await rest("Connect without a key", "/switchboard.v1.AIService/Chat", { "content-type": "application/json" }, JSON.stringify({ model: "traced-model", messages: [{ role: "ROLE_USER", content: "hi" }] }));
    for (const protocol of ["grpc", "connect"] as const) {
      const err = await failure(gw.client(protocol, WRONG_KEY).chat({ model: "traced-model", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { traceparent } }));
      answers.push({ what: `${protocol} with a wrong key`, status: err.code, requestId: err.metadata.get("x-request-id"), traceId: err.metadata.get("x-trace-id"), traceresponse: err.metadata.get("traceresponse") });
    }
    expect(answers.map((answer) => answer.status)).toEqual([404, 401, 401, 401, 16, 16]);

    // Each answer names a trace of the gateway's own, as its log line does, and W3C's traceresponse says it was restarted.
    const started = new Set<string>();
    for (const answer of answers) {
      expect(answer.traceId, answer.what).toMatch(/^[0-9a-f]{32}$/);
      expect(answer.traceId, answer.what).not.toBe(callerTrace);
      expect(answer.traceresponse, answer.what).toMatch(new RegExp(`^00-${answer.traceId}-[0-9a-f]{16}-01$`));
      expect(gw.logs.entries.find((entry) => entry.requestId === answer.requestId && entry.traceId !== undefined)?.traceId, answer.what).toBe(answer.traceId);
      started.add(answer.traceId!);
    }
    expect(started.size).toBe(answers.length);
    // That trace holds the call's span alone, a root linked to the caller's span (Jaeger shows an OTLP link as FOLLOWS_FROM).
    for (const answer of answers) {
      await expect.poll(() => spansIn(query, answer.traceId!).then((spans) => spans.length), { timeout: 30_000 }).toBe(1);
      const [span] = await spansIn(query, answer.traceId!);
      expect(span!.references, answer.what).toEqual([{ refType: "FOLLOWS_FROM", traceID: callerTrace, spanID: callerSpan }]);
    }

    // A call a key authenticated, on Connect and on REST, continues the caller's trace: only their spans are in it.
    let connectTrace: string | null = null;
    await gw.client("connect").chat({ model: "traced-model", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { traceparent }, onHeader: (headers) => (connectTrace = headers.get("x-trace-id")) });
    const answered = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { traceparent, authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: chat });
    expect(answered.status).toBe(200);
    await answered.text();
    expect(connectTrace).toBe(callerTrace);
    expect(answered.headers.get("x-trace-id")).toBe(callerTrace);
    expect(answered.headers.get("traceresponse")).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    await expect.poll(() => spansIn(query, callerTrace).then((spans) => spans.length), { timeout: 30_000 }).toBe(4);
    const calls = (await spansIn(query, callerTrace)).filter((span) => span.references.some((ref) => ref.refType === "CHILD_OF" && ref.spanID === callerSpan));
    expect(calls.map((span) => span.operationName).sort()).toEqual(["REST POST /v1/chat/completions", "switchboard.v1.AIService/Chat"]);
  });
});
