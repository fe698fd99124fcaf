// A key already past its requests per minute is refused before its call's
// request is read (UsageHooks.takeRequest), on every surface, with the answer its
// admission would have given: so a key over its limit costs the gateway next
// to nothing, however large or malformed what it sends (/tmp/audit-agents.md,
// finding 1: 2.3 s of event loop for each 429 of an 8 MB body).
import * as http from "node:http";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startThreeVendors, type ThreeVendors } from "./support/three-vendors.js";

let world: ThreeVendors;
let spent: string;
let fresh: string;

beforeAll(async () => {
  world = await startThreeVendors();
  const admin = createClient(AdminService, world.gw.transport("connect"));
  // One request a minute: its first call takes it, and the key is then past its limit for about a minute.
  spent = (await admin.createKey({ keyId: "spent", key: { displayName: "spent", requestsPerMinute: 1 } })).secret;
  fresh = (await admin.createKey({ keyId: "fresh", key: { displayName: "fresh", requestsPerMinute: 1 } })).secret;
  const first = await post("/v1/chat/completions", spent, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }));
  expect(first.status).toBe(200);
});
afterAll(async () => {
  await world?.stop();
});

const post = (path: string, key: string, body: string) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });

const refusals = async () => (await world.gw.app.metrics.registry.getSingleMetric("switchboard_rate_limited_total")!.get()).values.find((v) => v.labels.limit === "requests")?.value ?? 0;

describe("a key past its requests per minute", () => {
  it.each([
    ["/v1/chat/completions", { error: { code: "rate_limited" } }],
    ["/v1/embeddings", { error: { code: "rate_limited" } }],
    ["/v1/responses", { error: { code: "rate_limited" } }],
    ["/v1/messages", { type: "error", error: { type: "rate_limit_error" } }],
    ["/v1/messages/count_tokens", { type: "error", error: { type: "rate_limit_error" } }],
  ])("is refused on %s before its body is parsed: 429 RATE_LIMITED in the surface's shape, with retry-after", async (path, shape) => {
    const before = await refusals();
    // Not JSON: read, it would be a 400.
    const res = await post(path, spent, "{not json");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject(shape);
    expect(await refusals()).toBe(before + 1);
  });

  it("is refused before its body is even read: the 429 comes while the body is still on its way", async () => {
    const url = new URL("/v1/messages", world.gw.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, { method: "POST", headers: { "x-api-key": spent, "content-type": "application/json", "content-length": String(8 * 2 ** 20) } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on("error", reject);
      // A first kilobyte of the 8 MiB announced, and no more.
      req.write(`{"model":"claude-sonnet-4-5","messages":[${'{"role":"user","content":"a"},'.repeat(30)}`);
    });
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.body)).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });

  it("is refused on the typed API before the service reads the request", async () => {
    // Out of range: read, it would be InvalidArgument.
    const err = await failure(world.gw.client("grpc", spent).chat({ model: "gpt-4o-mini", temperature: 5, messages: [{ role: Role.USER, content: "hi" }] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", metadata: { limit: "requests_per_minute", value: "1" } });
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(0);
  });

  it.each([
    ["GET", "/v1/models"],
    ["GET", "/v1/responses/resp_0123456789abcdef0123456789abcdef"],
    ["GET", "/v1/responses/resp_0123456789abcdef0123456789abcdef/input_items?limit=1"],
    ["DELETE", "/v1/responses/resp_0123456789abcdef0123456789abcdef"],
  ])("is refused on %s %s as well: a read admission never sees is screened before its work is done", async (method, path) => {
    const before = await refusals();
    const res = await fetch(`${world.gw.url}${path}`, { method, headers: { authorization: `Bearer ${spent}` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(await refusals()).toBe(before + 1);
  });

  it("is refused ListModels on the typed API too, as GET /v1/models is (test/limits/typed-rate-screen.test.ts)", async () => {
    expect((await failure(world.gw.client("connect", spent).listModels({}))).code).toBe(Code.ResourceExhausted);
  });
});

describe("a key within its requests per minute", () => {
  it("is not held back by the screen: its one request goes through, and takes the minute's allowance as admission always did", async () => {
    const before = world.requests("openai").length;
    expect((await post("/v1/chat/completions", fresh, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }))).status).toBe(200);
    expect(world.requests("openai").length).toBe(before + 1);
    expect((await post("/v1/chat/completions", fresh, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }))).status).toBe(429);
  });

  it("takes one for a read as for any call: a GET is counted (test/limits/request-charge.test.ts)", async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const { secret } = await admin.createKey({ key: { displayName: "reader", requestsPerMinute: 1 } });
    expect((await fetch(`${world.gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    expect((await post("/v1/chat/completions", secret, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }))).status).toBe(429);
  });

  it("hears a bad body as the caller's 400, as before", async () => {
    // Within its limit, a malformed body is read, and refused for what it is.
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const { secret } = await admin.createKey({ key: { displayName: "roomy", requestsPerMinute: 100 } });
    const res = await post("/v1/chat/completions", secret, "{not json");
    expect(res.status).toBe(400);
  });
});
