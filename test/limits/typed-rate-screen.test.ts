// Every AIService method is refused to a key already past its requests per
// minute, as every REST call is (UsageHooks.takeRequest): ListModels was let
// through on the typed API while GET /v1/models was refused, so a key over
// its limit could list models without bound on Connect, gRPC and gRPC-Web.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import type { Protocol } from "../support/gateway.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const TYPED: Protocol[] = ["connect", "grpc", "grpc-web"];
const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

let world: UsageWorld;
let spent: string;

beforeAll(async () => {
  world = await startUsageWorld("sqlite");
  // One request a minute: its first call takes it, and the key is then past its limit for about a minute.
  spent = (await world.admin().createKey({ keyId: "spent", key: { displayName: "spent", requestsPerMinute: 1 } })).secret;
  await world.gw.client("connect", spent).chat(hi);
});
afterAll(() => world?.close());

const refusals = async () =>
  (await world.gw.app.metrics.registry.getSingleMetric("switchboard_rate_limited_total")!.get()).values.find((v) => v.labels.limit === "requests")?.value ?? 0;

/** Calls one AIService method with an empty request, reading a stream to its end. */
async function call(protocol: Protocol, key: string, method: (typeof AIService.methods)[number]): Promise<unknown> {
  const client = createClient(AIService, world.gw.transport(protocol, key)) as unknown as Record<string, (req: object) => any>;
  const answer = client[method.localName]!({});
  if (method.methodKind !== "server_streaming") return answer;
  for await (const _ of answer as AsyncIterable<unknown>);
  return undefined;
}

describe("a key past its requests per minute, on the typed API", () => {
  it.each(TYPED)("is refused ListModels over %s as GET /v1/models is: ResourceExhausted, RATE_LIMITED, a retry delay", async (protocol) => {
    const rest = await fetch(`${world.gw.url}/v1/models`, { headers: { authorization: `Bearer ${spent}` } });
    expect(rest.status).toBe(429);
    const before = await refusals();
    const err = await failure(world.gw.client(protocol, spent).listModels({}));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^key "spent" is over its limit of 1 requests per minute; retry in \d+ s$/);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", domain: "switchboard.dev", metadata: { key: "spent", limit: "requests_per_minute", value: "1" } });
    expect(Number(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBeGreaterThan(0);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(0);
    expect(await refusals()).toBe(before + 1);
  });

  it("is refused ListModels over plain HTTP with 429 and retry-after, as GET /v1/models is", async () => {
    const connect = await fetch(`${world.gw.url}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${spent}` },
      body: "{}",
    });
    expect(connect.status).toBe(429);
    expect(Number(connect.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  // Every method the service has, so that one added later is screened too.
  it.each(AIService.methods.map((method) => [method.name, method] as const))("is refused %s before the service reads it", async (_name, method) => {
    for (const protocol of TYPED) expect((await failure(call(protocol, spent, method))).code).toBe(Code.ResourceExhausted);
  });
});

describe("a key within its requests per minute, on the typed API", () => {
  it("takes one for ListModels, as GET /v1/models does: every call is counted (test/limits/request-charge.test.ts)", async () => {
    const { secret } = await world.admin().createKey({ key: { displayName: "reader", requestsPerMinute: 1 } });
    expect((await world.gw.client("connect", secret).listModels({})).models.length).toBeGreaterThan(0);
    expect((await failure(world.gw.client("grpc", secret).chat(hi))).code).toBe(Code.ResourceExhausted);
  });
});
