// Generated requests (valid, at the edges, malformed) against every decoder
// the gateway has, over real HTTP on loopback: whatever a caller sends, the
// answer is never Internal (HTTP 500), the gateway does not crash, and its
// heap does not grow with the traffic. The fake vendors answer the plausible
// calls, so the answers' and streams' encoders run too.
import { gzipSync } from "node:zlib";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { connectStream, connectUnary, GrpcConnection, grpcWeb, type RawAnswer } from "../support/raw-rpc.js";
import { anthropicFault, responsesFault, storedResponseId, type AgentAnswer } from "./agent-answers.js";
import { anthropicCall, responsesCall, STORED_RESPONSE, type AgentCall } from "./agent-bodies.js";
import { apiRequest, STREAMING_METHODS, type ApiRequest } from "./api-requests.js";
import { framed, framing, timeoutHeader } from "./framing.js";
import { binaryPayload, binaryVariant, jsonPayload, jsonVariant } from "./payloads.js";
import { runProperty } from "./property.js";
import { restCall } from "./rest-bodies.js";

let fake: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;
let grpc: GrpcConnection;
let heapBefore: number;

/** Heap in use after a full collection (the run has --expose-gc). */
function settledHeap(): number {
  globalThis.gc!();
  globalThis.gc!();
  return process.memoryUsage().heapUsed;
}

/** What the test side keeps per call (the fake's request log, captured log lines): not the gateway's memory. */
function dropRecordings(): void {
  for (const vendor of [fake, anthropic]) {
    vendor.requests.length = 0;
    vendor.abandoned.length = 0;
    vendor.toolCallsMade.length = 0;
  }
  gw.logs.lines.length = 0;
  storedIds.length = 0;
}

beforeAll(async () => {
  // gpt-5: a reasoning model, so the agents' surfaces write reasoning usage too.
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-5"] });
  // Claude's own models for the Messages requests that go on as written (original-request.ts), signed thinking included.
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-up" });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: "sk-ant-up", ANTHROPIC_BASE_URL: anthropic.baseUrl },
    {
      // One attempt per call, and no key ever benched: a vendor 4xx must not turn later cases into Unavailable.
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      traffic: { retry: { max_attempts: 1 } },
      // The agents' model names as test/agents/ serves them: Claude Code's small model and Codex's on the OpenAI fake.
      routes: [
        { model: "claude-haiku-*", provider: "openai", upstream_model: "gpt-4o-mini" },
        { model: "gpt-5-codex", provider: "openai", upstream_model: "gpt-5" },
      ],
    },
  );
  grpc = new GrpcConnection(gw.url);
  // Warm up every path once, so lazily built state (compiled code, pools) is not counted as growth.
  await gw.client("grpc").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "warm up" }] });
  await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' });
  // The agents' surfaces, streamed, on either fake vendor (a stored response included).
  for (const model of ["claude-haiku-4-5", "claude-sonnet-4-5"]) {
    await agentAnswer(agentPost("/v1/messages", { model, max_tokens: 10, messages: [{ role: "user", content: "hi" }], stream: true }));
    await agentAnswer(agentPost("/v1/responses", { model, input: "hi", stream: true }));
  }
  dropRecordings();
  heapBefore = settledHeap();
});
afterAll(async () => {
  grpc?.close();
  await gw?.stop();
  await fake?.close();
  await anthropic?.close();
});

const auth = { authorization: `Bearer ${MASTER_KEY}` };
/** How the agents' clients authenticate: Claude Code and the Responses clients with a bearer token, the Anthropic SDKs with x-api-key. */
const AGENT_AUTH: Record<AgentCall["auth"], Record<string, string>> = { bearer: auth, "x-api-key": { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01" } };

/** Ids of responses stored this run (the latest few), for the calls that continue, read or delete one. */
const storedIds: string[] = [];

/** A JSON call as each agent surface's clients make it. */
function agentPost(path: "/v1/messages" | "/v1/responses", body: object): AgentCall {
  return { method: "POST", path, headers: { "content-type": "application/json" }, body: JSON.stringify(body), auth: path === "/v1/messages" ? "x-api-key" : "bearer" };
}

async function agentAnswer(call: AgentCall): Promise<AgentAnswer> {
  const stored = storedIds.at(-1) ?? "resp_none_stored_yet";
  const res = await fetch(gw.url + call.path.replaceAll(STORED_RESPONSE, stored), {
    method: call.method,
    headers: { ...call.headers, ...AGENT_AUTH[call.auth] },
    body: call.body?.replaceAll(STORED_RESPONSE, stored),
  });
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() };
}

/** A fault found on an agent surface, with what the gateway logged of it (its log line names what was thrown, and where). */
function expectNoAgentFault(fault: string | undefined, logsFrom: number): void {
  if (!fault) return;
  const evidence = gw.logs.lines.slice(logsFrom).filter((line) => line.includes('"cause"'));
  throw new Error(`server fault: ${fault}\ngateway log:\n${evidence.join("\n") || "(nothing logged)"}`);
}

/** A server fault: Internal (or Unknown, an error nobody classified), HTTP 500, or a stream that ended without a status. */
function expectNoServerFault(answer: RawAnswer): void {
  const fault = answer.status === 500 || answer.code === Code.Internal || answer.code === Code.Unknown || (answer.status === 200 && answer.code === undefined);
  if (fault) throw new Error(`server fault: HTTP ${answer.status}, code ${answer.code ?? "none"}: ${answer.message || answer.body.slice(0, 300)}`);
}

const unaryRequest = apiRequest.filter((r) => !STREAMING_METHODS.has(r.path));
const streamRequest = apiRequest.filter((r) => STREAMING_METHODS.has(r.path));
const format = fc.constantFrom("proto" as const, "json" as const);
const payload = fc.tuple(binaryVariant, jsonVariant);

function encode(request: ApiRequest, as: "proto" | "json", [binary, json]: [Parameters<typeof binaryPayload>[1], Parameters<typeof jsonPayload>[1]]): Uint8Array {
  return as === "proto" ? binaryPayload(request, binary) : new TextEncoder().encode(jsonPayload(request, json));
}

/** A whole-body encoding for Connect unary calls: none, or gzip over the body (maybe cut short), or one the gateway does not know. */
const unaryEncoding = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.record({ name: fc.constantFrom("gzip", "br", "x-unknown"), gzip: fc.boolean(), cutAt: fc.option(fc.nat(), { nil: undefined }) }) },
);

describe("no generated request makes the gateway answer Internal", () => {
  it("Connect unary (protobuf binary and JSON, optionally compressed)", (ctx) =>
    runProperty(ctx, fc.tuple(unaryRequest, format, payload, unaryEncoding, timeoutHeader), async ([request, as, variants, encoding, timeout]) => {
      let body = encode(request, as, variants);
      const headers: Record<string, string> = { ...auth, "content-type": `application/${as}` };
      if (encoding) {
        if (encoding.gzip) body = gzipSync(body);
        if (encoding.cutAt !== undefined) body = body.subarray(0, encoding.cutAt % (body.byteLength + 1));
        headers["content-encoding"] = encoding.name;
      }
      if (timeout !== undefined) headers["connect-timeout-ms"] = timeout;
      expectNoServerFault(await connectUnary(gw.url, request.path, body, headers));
    }));

  it("Connect streaming envelopes (ChatStream)", (ctx) =>
    runProperty(ctx, fc.tuple(streamRequest, format, payload, framing), async ([request, as, variants, how]) => {
      const { body, encoding } = framed(encode(request, as, variants), how);
      const headers: Record<string, string> = { ...auth, "content-type": `application/connect+${as}` };
      if (encoding) headers["connect-content-encoding"] = encoding;
      expectNoServerFault(await connectStream(gw.url, request.path, body, headers));
    }));

  it("gRPC over HTTP/2 (length-prefixed frames)", (ctx) =>
    runProperty(ctx, fc.tuple(apiRequest, format, payload, framing, timeoutHeader), async ([request, as, variants, how, timeout]) => {
      const { body, encoding } = framed(encode(request, as, variants), how);
      const headers: Record<string, string> = { ...auth, "content-type": as === "proto" ? "application/grpc" : "application/grpc+json" };
      if (encoding) headers["grpc-encoding"] = encoding;
      if (timeout !== undefined) headers["grpc-timeout"] = timeout;
      expectNoServerFault(await grpc.call(request.path, body, headers));
    }));

  it("gRPC-Web over HTTP/1.1", (ctx) =>
    runProperty(ctx, fc.tuple(apiRequest, format, payload, framing), async ([request, as, variants, how]) => {
      const { body, encoding } = framed(encode(request, as, variants), how);
      const headers: Record<string, string> = { ...auth, "content-type": `application/grpc-web+${as}` };
      if (encoding) headers["grpc-encoding"] = encoding;
      expectNoServerFault(await grpcWeb(gw.url, request.path, body, headers));
    }));

  it("the OpenAI REST surface (/v1/chat/completions, /v1/embeddings)", (ctx) =>
    runProperty(ctx, restCall, async (call) => {
      const res = await fetch(gw.url + call.path, { method: "POST", headers: { ...auth, "content-type": call.type }, body: call.body });
      const text = await res.text();
      // Streams report a failure after the status, in the stream: `data: {"error":{…,"code":"internal"}}`.
      const code = /"code":"(internal|unknown)"/.exec(text)?.[1];
      expectNoServerFault({ status: res.status, code: code === "internal" ? Code.Internal : code === "unknown" ? Code.Unknown : 0, message: "", body: text });
    }));

  it("the Anthropic Messages surface (/v1/messages, /v1/messages/count_tokens)", (ctx) =>
    runProperty(ctx, anthropicCall, async (call) => {
      const logsFrom = gw.logs.lines.length;
      expectNoAgentFault(anthropicFault(await agentAnswer(call)), logsFrom);
    }));

  it("the OpenAI Responses surface (POST /v1/responses, GET and DELETE /v1/responses/{id})", (ctx) =>
    runProperty(ctx, responsesCall, async (call) => {
      const logsFrom = gw.logs.lines.length;
      const answer = await agentAnswer(call);
      expectNoAgentFault(responsesFault(answer), logsFrom);
      const id = storedResponseId(answer);
      if (id && !storedIds.includes(id)) storedIds.push(id);
      if (storedIds.length > 8) storedIds.shift();
    }));
});

describe("after the run", () => {
  it("the gateway still answers a health check and a valid call", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const answer = await gw.client("grpc").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "still here?" }] });
    expect(answer.message?.content).toBe("Echo: still here?");
    const messages = await agentAnswer(agentPost("/v1/messages", { model: "claude-haiku-4-5", max_tokens: 50, messages: [{ role: "user", content: "still here?" }] }));
    expect(JSON.parse(messages.text).content).toEqual([{ type: "text", text: "Echo: still here?" }]);
    const response = await agentAnswer(agentPost("/v1/responses", { model: "claude-haiku-4-5", input: "still here?", store: false }));
    expect(JSON.parse(response.text).output.at(-1).content[0].text).toBe("Echo: still here?");
  });

  it("its heap, after collection, has not grown with the traffic", () => {
    dropRecordings();
    const growth = settledHeap() - heapBefore;
    console.log(`heap after collection: ${(heapBefore / 2 ** 20).toFixed(1)} MB before the run, ${(growth / 2 ** 20).toFixed(1)} MB growth`);
    // Generous: caches that fill once (models, prices, compiled code) fit; memory kept per call would not.
    expect(growth).toBeLessThan(48 * 2 ** 20);
  });
});
