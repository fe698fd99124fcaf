import { createClient } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

// Existing OpenAI code, unchanged but for the base URL and the key: the official
// Node SDK with its DEFAULT options (embeddings as base64 float32, two retries),
// and what it decodes compared with what the fake vendor sent.
const VENDOR_KEY = "sk-vendor-for-sdk-tests";
const EMBEDDING_MODEL = "text-embedding-3-small";

let fake: OpenAIFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: VENDOR_KEY });
  // No key is ever benched, so the scripted vendor failures below each reach the vendor.
  gw = await startGateway({ OPENAI_API_KEY: VENDOR_KEY, OPENAI_BASE_URL: fake.baseUrl }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR });
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

/** What the vendor itself answers, asked directly (floats, OpenAI's own default). */
async function fromVendor(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${fake.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${VENDOR_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe("the official OpenAI Node SDK with its default options", () => {
  it("gets the vendor's chat answer, unary and streamed", async () => {
    const messages = [{ role: "user" as const, content: "hello there" }];
    const vendor = await fromVendor("/chat/completions", { model: "gpt-4o-mini", messages });

    const answer = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages });
    expect(answer.choices[0]!.message.content).toBe(vendor.choices[0].message.content);
    expect(answer._request_id).toMatch(/.+/);

    let streamed = "";
    for await (const chunk of await sdk.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true })) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).toBe(vendor.choices[0].message.content);
  });

  it("decodes the vendor's embedding vectors exactly, as float32 (the SDK asks for base64)", async () => {
    const input = ["hello", "switchboard gateway"];
    const vendor = await fromVendor("/embeddings", { model: EMBEDDING_MODEL, input });

    const { data: embeddings, response } = await sdk.embeddings.create({ model: EMBEDDING_MODEL, input }).withResponse();
    expect(embeddings.data.map((e) => e.embedding)).toEqual(vendor.data.map((e: { embedding: number[] }) => e.embedding.map(Math.fround)));
    expect(embeddings.data.map((e) => e.index)).toEqual([0, 1]);
    expect(response.headers.get("x-request-id")).toMatch(/.+/);
    expect(fake.requests.at(-1)!.body).toMatchObject({ model: EMBEDDING_MODEL, input });
  });

  it("answers floats when asked for floats, and passes dimensions through", async () => {
    const vendor = await fromVendor("/embeddings", { model: EMBEDDING_MODEL, input: "hello", dimensions: 4 });
    const floats = await sdk.embeddings.create({ model: EMBEDDING_MODEL, input: "hello", dimensions: 4, encoding_format: "float" });
    expect(floats.data[0]!.embedding).toEqual(vendor.data[0].embedding);
    expect(fake.requests.at(-1)!.body).toMatchObject({ dimensions: 4 });

    const decoded = await sdk.embeddings.create({ model: EMBEDDING_MODEL, input: "hello", dimensions: 4 });
    expect(decoded.data[0]!.embedding).toEqual(vendor.data[0].embedding.map(Math.fround));
  });

  it("lists and retrieves models, and says model_not_found for a model the key cannot see", async () => {
    expect((await sdk.models.list()).data.map((m) => m.id)).toContain("gpt-4o-mini");
    expect(await sdk.models.retrieve("gpt-4o-mini")).toMatchObject({ id: "gpt-4o-mini", object: "model", owned_by: "openai" });
    // The SDK percent-encodes the "/" of a provider-qualified id.
    expect(await sdk.models.retrieve("openai/gpt-4o-mini")).toMatchObject({ id: "openai/gpt-4o-mini", owned_by: "openai" });

    const missing = await sdk.models.retrieve("no-such-model").catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: "model_not_found", type: "invalid_request_error" });
    expect(missing.requestID).toMatch(/.+/);
  });

  it("retrieves a model no list names but a chat naming it is served (a fine-tune, a dated snapshot), within the key's scope", async () => {
    const listed = (await sdk.models.list()).data.map((m) => m.id);
    for (const id of ["openai/ft:gpt-4o-mini-2024-07-18:acme::abc123", "gpt-4o-2024-08-06"]) {
      expect(listed, "no list names it").not.toContain(id);
      expect(await sdk.models.retrieve(id)).toMatchObject({ id, object: "model", owned_by: "openai" });
    }
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "mini-retriever", key: { displayName: "mini only", allowedModels: ["gpt-4o-mini"] } });
    const scoped = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret });
    expect(await scoped.models.retrieve("gpt-4o-mini")).toMatchObject({ id: "gpt-4o-mini" });
    const outside = await scoped.models.retrieve("gpt-4o-2024-08-06").catch((e) => e);
    expect(outside).toBeInstanceOf(OpenAI.NotFoundError);
    expect(outside.message).toContain("is not available to this key");
    // The master key is told why a model is not served, not that its scope leaves it out.
    const unserved = await sdk.models.retrieve("no-such-model").catch((e) => e);
    expect(unserved.message).toContain("no route serves it");
  });

  it("reads errors the way the SDK does: status, code, param, request id", async () => {
    const stranger = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-not-a-gateway-key" });
    const unauthenticated = await stranger.models.list().catch((e) => e);
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthenticated).toMatchObject({ status: 401, code: "unauthenticated", type: "authentication_error" });
    expect(unauthenticated.requestID).toMatch(/.+/);

    const invalid = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], temperature: 5 }).catch((e) => e);
    expect(invalid).toMatchObject({ status: 400, code: "invalid_argument", param: "temperature" });

    const unknown = await sdk.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("refuses an encoding it does not know, naming the field", async () => {
    const res = await fetch(`${gw.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: EMBEDDING_MODEL, input: "x", encoding_format: "int8" }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-request-id")).toMatch(/.+/);
    expect(await res.json()).toEqual({
      error: { message: 'encoding_format: must be "float" or "base64"', type: "invalid_request_error", param: "encoding_format", code: "invalid_argument" },
    });
  });

  it("tells the SDK how long to wait (retry-after-ms, retry-after), and when retrying cannot help (x-should-retry)", async () => {
    fake.enqueue({ kind: "error", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after": "3" } });
    const limited = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, { maxRetries: 0 }).catch((e) => e);
    expect(limited).toMatchObject({ status: 429, code: "upstream_rate_limited" });
    expect(limited.headers.get("retry-after")).toBe("3");
    expect(limited.headers.get("retry-after-ms")).toBe("3000");
    expect(limited.headers.get("x-should-retry")).toBeNull();

    // An exhausted quota is a 429 the SDK would retry twice by default: the header spares the vendor those calls.
    const before = fake.requests.length;
    fake.enqueue({ kind: "error", status: 429, body: { error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } } });
    const quota = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(quota).toMatchObject({ status: 429, code: "upstream_quota_exhausted" });
    expect(quota.headers.get("x-should-retry")).toBe("false");
    expect(fake.requests.length - before).toBe(1);
  });
});
