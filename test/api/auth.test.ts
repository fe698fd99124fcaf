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

  describe("with a key in both authorization and x-api-key (Claude Code can send both)", () => {
    const listModels = (headers: Record<string, string>) => fetch(`${gw.url}/switchboard.v1.AIService/ListModels`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
    const messages = (headers: Record<string, string>) =>
      fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
        body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
      });

    it("serves the call when both carry the same key", async () => {
      expect((await listModels({ authorization: `Bearer ${MASTER_KEY}`, "x-api-key": MASTER_KEY })).status).toBe(200);
      expect((await messages({ authorization: `Bearer ${MASTER_KEY}`, "x-api-key": MASTER_KEY })).status).toBe(200);
    });

    it("refuses it when they carry different keys, whichever is valid: 401 CONFLICTING_KEYS, before any vendor is asked", async () => {
      const before = fake.requests.length;
      for (const other of ["sk-wrong", "garbage"]) {
        const connect = await listModels({ authorization: `Bearer ${MASTER_KEY}`, "x-api-key": other });
        expect(connect.status).toBe(401);
        const body = (await connect.json()) as { code: string; message: string; details: { type: string; debug: { reason: string } }[] };
        expect(body.code).toBe("unauthenticated");
        expect(body.message).toBe("`Authorization: Bearer` and `x-api-key` carry different keys: send the gateway key in one of them (or the same key in both)");
        expect(body.details.find((detail) => detail.type === "google.rpc.ErrorInfo")?.debug.reason).toBe("CONFLICTING_KEYS");
        const rest = await messages({ authorization: `Bearer ${other}`, "x-api-key": MASTER_KEY });
        expect(rest.status).toBe(401);
        expect(await rest.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
      }
      expect(fake.requests.length).toBe(before);
    });
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
