import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema, BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const UPSTREAM_KEY = "sk-live-upstream-9f8e7d6c5b4a";
let fake: OpenAIFake;
let gw: TestGateway;
const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: UPSTREAM_KEY });
  // One attempt per call: these tests map a single vendor failure (test/gateway covers retries and failover).
  // Scripted 429s and rejections must not bench the one key for the tests after them (test/secrets covers key pools).
  gw = await startGateway({ OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl }, { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

const openAIError = (message: string, type: string, code: string | null = null) => ({ error: { message, type, param: null, code } });

describe("vendor failures become codes a caller can act on", () => {
  it("vendor 400 → InvalidArgument with the vendor's message", async () => {
    fake.enqueue({ kind: "error", status: 400, body: openAIError("Invalid 'messages[0].content': string too long.", "invalid_request_error") });
    const err = await failure(gw.client("grpc").chat(hello));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("string too long");
  });

  it("vendor 429 → ResourceExhausted with the retry-after, as a header and as RetryInfo", async () => {
    fake.enqueue({ kind: "error", status: 429, body: openAIError("Rate limit reached for requests", "requests", "rate_limit_exceeded"), headers: { "retry-after": "7" } });
    const err = await failure(gw.client("connect").chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("7");
    const [retry] = err.findDetails(RetryInfoSchema);
    expect(Number(retry?.retryDelay?.seconds)).toBe(7);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_RATE_LIMITED");
  });

  it("quota exhausted (429 insufficient_quota) → ResourceExhausted with its own reason", async () => {
    fake.enqueue({ kind: "error", status: 429, body: openAIError("You exceeded your current quota", "insufficient_quota", "insufficient_quota") });
    const err = await failure(gw.client("grpc").chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_QUOTA_EXHAUSTED");
  });

  it.each([500, 502, 503])("vendor %i → Unavailable", async (status) => {
    fake.enqueue({ kind: "error", status, body: openAIError("The server had an error", "server_error") });
    const err = await failure(gw.client("grpc").chat(hello));
    expect(err.code).toBe(Code.Unavailable);
  });

  it("a reset connection → Unavailable", async () => {
    fake.enqueue({ kind: "reset" });
    expect((await failure(gw.client("grpc").chat(hello))).code).toBe(Code.Unavailable);
  });

  it("a vendor that does not answer before the caller's deadline → DeadlineExceeded", async () => {
    fake.enqueue({ kind: "hang" });
    const started = Date.now();
    const err = await failure(gw.client("grpc").chat(hello, { timeoutMs: 300 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The hung upstream request was abandoned, not left open.
    await expect.poll(() => fake.abandoned.length).toBeGreaterThan(0);
  });

  it("the vendor rejecting the gateway's credential → Unavailable naming provider and key id, never the key", async () => {
    const bad = await startGateway({ OPENAI_API_KEY: "sk-revoked-upstream-key-123456", OPENAI_BASE_URL: fake.baseUrl });
    try {
      const err = await failure(bad.client("grpc").chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain('provider "openai"');
      expect(err.rawMessage).toContain("openai/env");
      expect(err.rawMessage).not.toMatch(/sk-re|revoked|\*\*\*/);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_CREDENTIAL_REJECTED");
      expect(bad.logs.text).not.toContain("sk-revoked-upstream-key-123456");
      expect(bad.logs.text).not.toContain("sk-***");
    } finally {
      await bad.stop();
    }
  });

  it("a vendor that refuses connections → Unavailable", async () => {
    const closed = await startOpenAIFake({ apiKey: "x" });
    await closed.close();
    const gone = await startGateway({ OPENAI_API_KEY: "x", OPENAI_BASE_URL: closed.baseUrl });
    try {
      const err = await failure(gone.client("grpc").chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain("could not be reached");
    } finally {
      await gone.stop();
    }
  });

  it("an unknown model → NotFound saying how to list models", async () => {
    const err = await failure(gw.client("grpc").chat({ ...hello, model: "no-such-model" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("ListModels");
  });

  it("a model routed to an unconfigured vendor → NotFound naming the variable to set", async () => {
    const err = await failure(gw.client("grpc").chat({ ...hello, model: "deepseek-chat" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("DEEPSEEK_API_KEY");
  });

  it("a bad request never reaches the vendor: InvalidArgument with a BadRequest detail per field", async () => {
    const before = fake.requests.length;
    const err = await failure(gw.client("grpc").chat({ model: "", messages: [], temperature: 3 }));
    expect(err.code).toBe(Code.InvalidArgument);
    const fields = err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field);
    expect(fields).toEqual(["model", "messages", "temperature"]);
    expect(fake.requests.length).toBe(before);
  });

  it("an OpenAI-style role in Connect JSON says which names a role takes", async () => {
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain('messages[0].role: "user" is not a switchboard.v1.Role: write ROLE_USER (one of ROLE_UNSPECIFIED, ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL, or its number)');
  });

  it("vendor options asking for several answers → InvalidArgument: all would be billed, one returned", async () => {
    const before = fake.requests.length;
    const err = await failure(gw.client("connect").chat({ ...hello, vendorOptions: { n: 3, generationConfig: { candidateCount: 2 } } }));
    expect(err.code).toBe(Code.InvalidArgument);
    const fields = err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field);
    expect(fields).toEqual(["vendor_options.n", "vendor_options.generationConfig.candidateCount"]);
    expect(fake.requests.length).toBe(before);
    expect((await gw.client("connect").chat({ ...hello, vendorOptions: { n: 1 } })).message?.content).toBeDefined();
  });

  it("vendor options that would change the answer's shape → InvalidArgument, so no caller can make a healthy vendor look broken", async () => {
    const before = fake.requests.length;
    for (const vendorOptions of [{ stream: true }, { stream_options: { include_usage: true } }, { parameters: { incremental_output: true } }] as JsonObject[]) {
      const err = await failure(gw.client("grpc").chat({ ...hello, vendorOptions }));
      expect(err.code, JSON.stringify(vendorOptions)).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/vendor_options(\.parameters)?\.(stream|stream_options|incremental_output): is the gateway's to set: call ChatStream/);
    }
    expect(fake.requests.length).toBe(before);
  });

  it("vendor options that cost more than the ledger prices → InvalidArgument; a cheaper tier goes through", async () => {
    const before = fake.requests.length;
    for (const [vendorOptions, field] of [
      [{ service_tier: "priority" }, "service_tier"],
      [{ modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" } }, "modalities"],
      [{ web_search_options: {} }, "web_search_options"],
      // Tools the vendor runs are billed per use; functions sent here would pass the gateway's checks of `tools`.
      [{ tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 50 }] }, "tools"],
      [{ tools: [{ googleSearch: {} }] }, "tools"],
      [{ tools: [{ type: "function", function: { name: "evil" } }] }, "tools"],
    ] as [JsonObject, string][]) {
      const err = await failure(gw.client("connect").chat({ ...hello, vendorOptions }));
      expect(err.code, JSON.stringify(vendorOptions)).toBe(Code.InvalidArgument);
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe(`vendor_options.${field}`);
    }
    expect(fake.requests.length).toBe(before);
    await gw.client("connect").chat({ ...hello, vendorOptions: { service_tier: "flex", modalities: ["text"] } });
    expect(fake.chatRequests().at(-1)).toMatchObject({ service_tier: "flex" });
  });

  it("no upstream key appears in any log line", () => {
    expect(gw.logs.text).not.toContain(UPSTREAM_KEY);
    expect(gw.logs.entries.some((line) => line.status === "resource_exhausted")).toBe(true);
  });
});
