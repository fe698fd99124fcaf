// Traces end to end: a real gateway exports its spans over OTLP to a real
// Jaeger on loopback, and the test reads them back through Jaeger's query
// API. A call that retried and failed over is one trace: the caller's span
// is its parent, the call's span has the attempts as child spans (retry and
// failover visible as siblings), the GenAI attributes are set, and neither
// the messages nor a secret is anywhere in it.
import { ConnectError } from "@connectrpc/connect";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import type { Scripted } from "../fakes/fake-server.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { parentOf, spansOf, tag } from "./support/jaeger-traces.js";

const PRIMARY_KEY = "sk-primary-0123456789abcdef";
const BACKUP_KEY = "sk-backup-fedcba9876543210";
/** One of the gateway's own secrets shaped like no key (hex: one case): only knowing it finds it. */
const PEPPER = randomBytes(32).toString("hex");
/** What the caller asks: it must never reach a span, unless its route records content. */
const SECRET_PROMPT = `the launch code is ${randomBytes(6).toString("hex")}`;
const overloaded: Scripted = { kind: "error", status: 503, body: { error: { message: "The server is overloaded", type: "server_error" } } };

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

describe("traces in Jaeger", () => {
  let query: string;
  let primary: OpenAIFake;
  let backup: OpenAIFake;
  let gw: TestGateway;
  const service = `switchboard-test-${hex(4)}`;

  beforeAll(async () => {
    const otlp = requireService("SWITCHBOARD_TEST_JAEGER_OTLP");
    query = requireService("SWITCHBOARD_TEST_JAEGER_QUERY");
    primary = await startOpenAIFake({ apiKey: PRIMARY_KEY });
    backup = await startOpenAIFake({ apiKey: BACKUP_KEY });
    gw = await startGateway(
      {
        PRIMARY_KEY,
        BACKUP_KEY,
        SWITCHBOARD_PEPPER: PEPPER,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
        OTEL_SERVICE_NAME: service,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        SWITCHBOARD_TRACE_CONTENT: "recorded-*",
      },
      {
        providers: {
          primary: { dialect: "openai", base_url: primary.baseUrl, api_key: "env:PRIMARY_KEY" },
          backup: { dialect: "openai", base_url: backup.baseUrl, api_key: "env:BACKUP_KEY" },
        },
        routes: [
          { model: "traced-model", provider: "primary", upstream_model: "gpt-4o-mini", fallbacks: ["backup/gpt-4o"] },
          { model: "recorded-model", provider: "backup", upstream_model: "gpt-4o" },
        ],
        traffic: { retry: { base_delay_ms: 1, max_delay_ms: 5, max_attempts: 4, attempts_per_candidate: 2 } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await primary?.close();
    await backup?.close();
  });

  it("shows a call that retried and failed over as one trace: the call's span, and each attempt as its child", async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    primary.enqueue(overloaded, overloaded);
    let answerHeaders: Headers | undefined;
    const answer = await gw.client("grpc").chat(
      { model: "traced-model", messages: [{ role: Role.USER, content: SECRET_PROMPT }] },
      // Its tracestate holds a pasted key and one of the gateway's secrets besides its own entry.
      { headers: { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: `caller=1,a=sk-sb-CALLERKEYabcdefghijklmnop123456,b=${PEPPER}` }, onHeader: (headers) => (answerHeaders = headers) },
    );
    expect(answer.provider).toBe("backup");
    // The vendor's 503 (its kind as the dialect classifies it), twice, then the fallback.
    const failure = answer.attempts[0]!.outcome;
    expect(answer.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual([`primary:${failure}`, `primary:${failure}`, "backup:ok"]);
    expect(failure).not.toBe("ok");
    // The answer names the trace, and the caller's trace was continued (gRPC metadata carried its traceparent).
    expect(answerHeaders?.get("x-trace-id")).toBe(traceId);
    expect(answerHeaders?.get("traceresponse")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    const { spans, raw } = await spansOf(query, traceId, 4);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "grpc")!;
    expect(call.operationName).toBe("switchboard.v1.AIService/Chat");
    expect(parentOf(call)).toBe(callerSpan);
    const attempts = spans.filter((span) => span !== call);
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts) expect(parentOf(attempt)).toBe(call.spanID);
    const described = attempts
      .map((a) => [tag(a, "switchboard.attempt.reason"), tag(a, "switchboard.provider"), tag(a, "gen_ai.request.model"), tag(a, "switchboard.attempt.outcome")].join(" "))
      .sort();
    expect(described).toEqual(["failover backup gpt-4o ok", `first primary gpt-4o-mini ${failure}`, `retry primary gpt-4o-mini ${failure}`]);
    for (const attempt of attempts) {
      expect(attempt.operationName).toBe(`chat ${tag(attempt, "gen_ai.request.model")}`);
      expect(tag(attempt, "gen_ai.operation.name")).toBe("chat");
      expect(tag(attempt, "gen_ai.provider.name")).toBe(tag(attempt, "switchboard.provider"));
      expect(tag(attempt, "switchboard.credential.id")).toMatch(/^(primary|backup)\//);
    }
    const failed = attempts.find((a) => tag(a, "switchboard.attempt.outcome") === failure)!;
    expect(tag(failed, "http.response.status_code")).toBe(503);
    expect(tag(failed, "error.type")).toBe(failure);
    // The attempt that answered has its status too, as the metrics record it.
    const answered = attempts.find((a) => tag(a, "switchboard.attempt.outcome") === "ok")!;
    expect(tag(answered, "http.response.status_code")).toBe(200);
    expect(tag(answered, "error.type")).toBeUndefined();

    // The call's span: what was asked, what served it, the usage, and the key.
    expect(tag(call, "gen_ai.operation.name")).toBe("chat");
    expect(tag(call, "gen_ai.request.model")).toBe("traced-model");
    expect(tag(call, "gen_ai.provider.name")).toBe("backup");
    expect(tag(call, "gen_ai.response.model")).toBe("gpt-4o");
    expect(tag(call, "gen_ai.usage.input_tokens")).toBe(answer.usage!.promptTokens);
    expect(tag(call, "gen_ai.usage.output_tokens")).toBe(answer.usage!.completionTokens);
    expect(JSON.parse(String(tag(call, "gen_ai.response.finish_reasons")))).toEqual(["stop"]);
    expect(tag(call, "switchboard.key.id")).toBe("master");
    expect(tag(call, "switchboard.attempts")).toBe(3);
    expect(tag(call, "switchboard.request_id")).toBe(answer.requestId);

    // The vendors were called within the trace: each attempt's traceparent names its own span.
    const sent = [...primary.requests.slice(-2), ...backup.requests.slice(-1)].map((r) => String(r.headers.traceparent));
    expect(sent.map((header) => header.split("-")[2]).sort()).toEqual(attempts.map((a) => a.spanID).sort());
    for (const header of sent) expect(header).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The caller's tracestate is continued on the gateway's spans, less what holds a secret, and sent to no vendor.
    for (const request of [...primary.requests.slice(-2), ...backup.requests.slice(-1)]) expect(request.headers.tracestate).toBeUndefined();
    for (const span of spans) expect(tag(span, "w3c.tracestate")).toBe("caller=1");
    expect(raw).not.toContain("CALLERKEY");
    expect(raw).not.toContain(PEPPER);

    // Neither the conversation nor any secret is in the trace.
    for (const secret of [SECRET_PROMPT, PRIMARY_KEY, BACKUP_KEY, MASTER_KEY, "Echo:"]) expect(raw).not.toContain(secret);
    expect(raw).not.toContain("gen_ai.input.messages");
    // The call's log line carries the trace id.
    const line = gw.logs.entries.find((entry) => entry.requestId === answer.requestId && entry.msg === "call")!;
    expect(line).toMatchObject({ traceId, surface: "grpc", provider: "backup" });
    expect(line.overheadMs).toBeGreaterThanOrEqual(0);
  });

  it("starts a trace of its own when the caller sends none, on the REST surface too; a stream's span marks its first token", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "traced-model", stream: true, messages: [{ role: "user", content: SECRET_PROMPT }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain("[DONE]");
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const { spans, raw } = await spansOf(query, traceId, 2);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "rest")!;
    expect(call.operationName).toBe("REST POST /v1/chat/completions");
    expect(call.references).toEqual([]);
    expect(call.logs.some((log) => log.fields.some((f) => f.key === "event" && f.value === "gen_ai.first_token"))).toBe(true);
    expect(tag(call, "gen_ai.usage.output_tokens")).toBeGreaterThan(0);
    for (const secret of [SECRET_PROMPT, PRIMARY_KEY, MASTER_KEY]) expect(raw).not.toContain(secret);
  });

  it("records the messages only for a route an operator listed (SWITCHBOARD_TRACE_CONTENT)", async () => {
    let traceId = "";
    await gw.client("connect").chat({ model: "recorded-model", messages: [{ role: Role.USER, content: SECRET_PROMPT }] }, { onHeader: (h) => (traceId = h.get("x-trace-id")!) });
    const { spans } = await spansOf(query, traceId, 2);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    expect(JSON.parse(String(tag(call, "gen_ai.input.messages")))).toEqual([{ role: "user", parts: [{ type: "text", content: SECRET_PROMPT }] }]);
    expect(JSON.parse(String(tag(call, "gen_ai.output.messages")))).toEqual([
      { role: "assistant", parts: [{ type: "text", content: `Echo: ${SECRET_PROMPT}` }], finish_reason: "stop" },
    ]);
  });

  it("records content with the secrets in it masked, in the prompt and in the answer that repeats them", async () => {
    // A config pasted into a chat: the vendor's key of the route's pool, the master key, one of the gateway's own
    // secrets shaped like no key, another gateway key; the vendor echoes them all back.
    const pasted = generateGatewayKey();
    const secrets = [BACKUP_KEY, MASTER_KEY, PEPPER, pasted];
    const prompt = `my .env: ${secrets.map((secret, i) => `K${i}=${secret}`).join(" ")}`;
    let traceId = "";
    await gw.client("connect").chat({ model: "recorded-model", messages: [{ role: Role.USER, content: prompt }] }, { onHeader: (h) => (traceId = h.get("x-trace-id")!) });
    const { spans, raw } = await spansOf(query, traceId, 2);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    const masked = "my .env: K0=[redacted] K1=[redacted] K2=[redacted] K3=sk-sb-…";
    expect(JSON.parse(String(tag(call, "gen_ai.input.messages")))).toEqual([{ role: "user", parts: [{ type: "text", content: masked }] }]);
    expect(JSON.parse(String(tag(call, "gen_ai.output.messages")))).toEqual([{ role: "assistant", parts: [{ type: "text", content: `Echo: ${masked}` }], finish_reason: "stop" }]);
    // Content, yes; secrets still not.
    for (const secret of secrets) expect(raw).not.toContain(secret);
  });

  it("keeps a vendor's error text, which may quote the prompt, out of the call's span; its log line has it", async () => {
    primary.enqueue({ kind: "error", status: 400, body: { error: { message: `Your prompt was flagged: "${SECRET_PROMPT}"`, type: "invalid_request_error" } } });
    const failed = ConnectError.from(await gw.client("connect").chat({ model: "traced-model", messages: [{ role: Role.USER, content: "hi" }] }).catch((err: unknown) => err));
    expect(failed.rawMessage).toContain(SECRET_PROMPT);
    const traceId = failed.metadata.get("x-trace-id")!;
    const { spans, raw } = await spansOf(query, traceId, 2);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    expect(String(tag(call, "otel.status_description"))).toMatch(/^provider "primary" failed the call \(UPSTREAM_BAD_REQUEST, HTTP 400\)/);
    expect(raw).not.toContain(SECRET_PROMPT);
    expect(JSON.stringify(gw.logs.entries.filter((entry) => entry.traceId === traceId))).toContain(SECRET_PROMPT);
  });

  it("describes a request body that is not JSON on the call's span, without quoting it", async () => {
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: `PATIENT ${SECRET_PROMPT}`,
    });
    expect(res.status).toBe(400);
    // JSON.parse quotes the start of the body to the caller; the span records no part of it.
    expect(await res.text()).toContain("PATIENT");
    const { spans, raw } = await spansOf(query, res.headers.get("x-trace-id")!, 1);
    expect(tag(spans[0]!, "otel.status_description")).toBe(
      "cannot decode message switchboard.v1.ChatRequest from JSON: the body is not valid JSON (the request's text is in the caller's answer only)",
    );
    expect(raw).not.toContain("PATIENT");
  });

  it("names a model a caller pasted a key into by its hint only, on the call's span and on its attempt's", async () => {
    // A vendor's key shape: a gateway key is refused before routing (partial-secret-oracle.test.ts).
    const pasted = `sk-proj-${"Ab3_x".repeat(10)}`;
    const failed = ConnectError.from(await gw.client("connect").chat({ model: `primary/${pasted}`, messages: [{ role: Role.USER, content: "hi" }] }).catch((err: unknown) => err));
    const { spans, raw } = await spansOf(query, failed.metadata.get("x-trace-id")!, 2);
    expect(raw).not.toContain(pasted);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    expect(tag(call, "gen_ai.request.model")).toBe("primary/sk-pro…");
    const attempt = spans.find((span) => parentOf(span) === call.spanID)!;
    expect(attempt.operationName).toBe("chat sk-pro…");
    expect(tag(attempt, "gen_ai.request.model")).toBe("sk-pro…");
  });

  it("records a vendor's id of its answer cut short and with no key in it", async () => {
    const answered = (id: string) => ({
      kind: "error" as const,
      status: 200,
      body: { id, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
    });
    for (const [id, recorded] of [
      [`chatcmpl-${"I".repeat(300_000)}`, `chatcmpl-${"I".repeat(247)}`],
      [`resp-${BACKUP_KEY}`, "resp-[redacted]"],
      [`resp-${PEPPER}`, "resp-[redacted]"],
    ]) {
      backup.enqueue(answered(id!));
      let traceId = "";
      const answer = await gw.client("connect").chat({ model: "recorded-model", messages: [{ role: Role.USER, content: "hi" }] }, { onHeader: (h) => (traceId = h.get("x-trace-id")!) });
      expect(answer.id).toBe(recorded);
      const { spans } = await spansOf(query, traceId, 2);
      expect(tag(spans.find((span) => tag(span, "switchboard.surface") === "connect")!, "gen_ai.response.id")).toBe(recorded);
    }
  });
});
