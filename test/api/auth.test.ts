import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, PROTOCOLS, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

async function codeOf(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  const e = await failure(call);
  return { code: e.code, message: e.rawMessage };
}

describe.each(PROTOCOLS)("authentication over %s", (protocol) => {
  it("rejects a missing key and a wrong key alike, without calling the vendor", async () => {
    const before = fake.requests.length;
    const missing = await codeOf(gw.client(protocol, null).chat(hello));
    const wrong = await codeOf(gw.client(protocol, "sk-wrong").chat(hello));
    expect(missing.code).toBe(Code.Unauthenticated);
    expect(wrong).toEqual(missing);
    expect(fake.requests.length).toBe(before);
  });

  it("rejects streams without a key", async () => {
    const run = async () => {
      for await (const _ of gw.client(protocol, null).chatStream(hello));
    };
    expect((await codeOf(run())).code).toBe(Code.Unauthenticated);
  });
});

describe("authentication headers", () => {
  it("accepts the key in x-api-key", async () => {
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": MASTER_KEY },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).message.content).toBe("Echo: hi");
    expect(res.headers.get("x-request-id")).toMatch(/.+/);
  });

  it("answers HTTP 401 unauthenticated to a Connect call without a key", async () => {
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).code).toBe("unauthenticated");
  });

  it("keeps a caller's x-request-id", async () => {
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}`, "x-request-id": "trace-123" },
      body: "{}",
    });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    expect(gw.logs.entries.some((line) => line.requestId === "trace-123" && line.method === "switchboard.v1.AIService/ListModels")).toBe(true);
  });

  it("lets health checks through without a key", async () => {
    const health = createClient(Health, gw.transport("grpc", null));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "switchboard.v1.AIService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await codeOf(health.check({ service: "nope.Service" }))).code).toBe(Code.NotFound);
  });

  it("never logs the gateway key", () => {
    expect(gw.logs.text).not.toContain(MASTER_KEY);
    expect(gw.logs.text).not.toContain("sk-wrong");
  });
});
