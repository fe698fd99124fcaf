// The OpenAI SDK's `responses.inputTokens.count` and `responses.compact`
// against the gateway (first-hour audit, finding 6): `input_tokens` is counted
// as `/v1/messages/count_tokens` counts (the gateway's estimate, the key's
// scope, a ledger row for a refusal, no vendor asked), and `compact`, which
// the gateway does not serve, is a 404 naming it, not a 405 that reads the
// word as a response id.
import Anthropic from "@anthropic-ai/sdk";
import { createClient } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startThreeVendors, type ThreeVendors, type Vendor } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const VENDORS: Vendor[] = ["anthropic", "openai", "dashscope"];

let world: ThreeVendors;
let sdk: OpenAI;

beforeAll(async () => {
  world = await startThreeVendors();
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
});

/** How many requests the fake vendors have received in all. */
const vendorRequests = () => VENDORS.reduce((sum, vendor) => sum + world.requests(vendor).length, 0);

const post = (path: string, body: unknown, key = MASTER_KEY) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("POST /v1/responses/input_tokens", () => {
  it("answers OpenAI's shape with the estimate count_tokens gives the same prompt, asking no vendor", async () => {
    const before = vendorRequests();
    const counted = await sdk.responses.inputTokens.count({ model: "gpt-4o-mini", instructions: "be brief", input: "how many tokens is this?" });
    expect(counted.object).toBe("response.input_tokens");
    const anthropic = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const same = await anthropic.messages.countTokens({ model: "gpt-4o-mini", system: "be brief", messages: [{ role: "user", content: "how many tokens is this?" }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(counted.input_tokens).toBe(same.input_tokens);
    expect(vendorRequests()).toBe(before);
  });

  it("counts the stored conversation previous_response_id continues, for the key that stored it only", async () => {
    const made = await sdk.responses.create({ model: "gpt-4o-mini", input: "a first question, with some words in it" });
    const alone = await sdk.responses.inputTokens.count({ model: "gpt-4o-mini", input: "and then?" });
    const continued = await sdk.responses.inputTokens.count({ model: "gpt-4o-mini", input: "and then?", previous_response_id: made.id });
    expect(continued.input_tokens).toBeGreaterThan(alone.input_tokens);

    const admin = createClient(AdminService, world.gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "other-counter", key: { displayName: "another key" } });
    const other = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await other.responses.inputTokens.count({ model: "gpt-4o-mini", input: "and then?", previous_response_id: made.id }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("response_not_found");
  });

  it("is held to the key's scope, its refusal leaving a ledger row under openai_responses; a model no route serves is a 404", async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "qwen-input-counter", key: { displayName: "qwen only", allowedModels: ["qwen-*"] } });
    const scoped = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const before = vendorRequests();
    const outside = await scoped.responses.inputTokens.count({ model: "gpt-4o-mini", input: "hi" }).catch((e) => e);
    expect(outside).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(outside.code).toBe("model_not_allowed");
    expect((await scoped.responses.inputTokens.count({ model: "qwen-plus", input: "hi" })).input_tokens).toBeGreaterThan(0);
    expect(vendorRequests()).toBe(before);
    const report = () => admin.getUsageReport({ key: "keys/qwen-input-counter", surface: "openai_responses" });
    await expect.poll(async () => (await report()).rows.map((row) => ({ requests: row.requests, errors: row.errors })), { timeout: 5_000 }).toEqual([{ requests: 1n, errors: 1n }]);

    const unknown = await sdk.responses.inputTokens.count({ model: "totally-unknown", input: "hi" }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("refuses what POST /v1/responses refuses, naming the field", async () => {
    const err = await sdk.responses.inputTokens.count({ model: "gpt-4o-mini", input: "hi", conversation: "conv_1" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("conversation");
  });

  it("takes POST only: another method is told so", async () => {
    const res = await fetch(`${world.gw.url}/v1/responses/input_tokens`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });
});

describe("POST /v1/responses/{word} that is not a response id", () => {
  it("compact is a 404 saying the gateway does not serve it", async () => {
    const err = await sdk.responses.compact({ model: "gpt-4o-mini", input: "hi" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("endpoint_not_found");
    expect(err.message).toContain("/v1/responses/compact is not served by the gateway");
    expect(err.message).not.toContain("GET");
  });

  it("any other word is a 404 endpoint_not_found, never a 405 about a response id", async () => {
    const res = await post("/v1/responses/summarize", { model: "gpt-4o-mini" });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("endpoint_not_found");
    expect(body.error.message).toContain("no such endpoint: POST /v1/responses/summarize");
  });

  it("an id is still one: POST to it is the method refused, GET it is the response not found", async () => {
    const posted = await post("/v1/responses/resp_0123456789abcdef", {});
    expect(posted.status).toBe(405);
    expect(posted.headers.get("allow")).toBe("GET, DELETE");
    const got = await fetch(`${world.gw.url}/v1/responses/resp_0123456789abcdef`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(got.status).toBe(404);
    expect(((await got.json()) as { error: { code: string } }).error.code).toBe("response_not_found");
  });
});
