import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake, gatewayOverOpenAIFake } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, type TestGateway } from "../support/gateway.js";

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function providerUp(gw: TestGateway, provider: string): Promise<string | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return new RegExp(`^switchboard_provider_up\\{provider="${provider}"\\} (\\d)$`, "m").exec(text)?.[1];
}

describe("health when the only vendor key is rejected by the vendor", () => {
  // The vendor accepts another key than the one the gateway holds: every call gets a 401.
  const world = gatewayOverFake(
    () => startOpenAIFake({ apiKey: "sk-the-vendors-real-key" }),
    (fake) => ({ OPENAI_API_KEY: "sk-revoked-at-the-vendor", OPENAI_BASE_URL: fake.baseUrl }),
  );
  const health = () => createClient(Health, world.gw.transport("grpc", null));

  it("serves until a call shows the key is bad, then says degraded with the reason: /healthz, gRPC health, the metric", async () => {
    expect((await getJson(`${world.gw.url}/healthz`)).body).toMatchObject({ status: "ok", providers: { openai: { status: "serving" } } });
    expect((await health().check({ service: "provider/openai" })).status).toBe(Status.SERVING);
    expect(await providerUp(world.gw, "openai")).toBe("1");

    const watched: Status[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const res of health().watch({ service: "provider/openai" }, { signal: abort.signal })) watched.push(res.status);
    })().catch(() => undefined);
    await expect.poll(() => watched).toEqual([Status.SERVING]);

    const err = await failure(world.gw.client("connect").chat(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_CREDENTIAL_REJECTED");

    const reason = "no usable key: 1 disabled by the vendor (HTTP 401, invalid_api_key)";
    // Liveness and readiness stay 200: restarting or draining the instance would not bring the vendor key back.
    for (const path of ["/healthz", "/readyz"]) {
      expect(await getJson(`${world.gw.url}${path}`)).toMatchObject({
        status: 200,
        body: { status: "degraded", providers: { openai: { status: "degraded", reason } } },
      });
    }
    expect((await health().check({ service: "provider/openai" })).status).toBe(Status.NOT_SERVING);
    expect((await health().check({})).status).toBe(Status.SERVING);
    expect((await health().list({})).statuses["provider/openai"]?.status).toBe(Status.NOT_SERVING);
    expect(await providerUp(world.gw, "openai")).toBe("0");
    await expect.poll(() => watched, { timeout: 3_000 }).toEqual([Status.SERVING, Status.NOT_SERVING]);
    abort.abort();
    await watching;
  });

  it("names the provider that lists no models on GET /v1/models", async () => {
    const models = await getJson(`${world.gw.url}/v1/models`);
    expect(models.status).toBe(200);
    expect(models.body.data).toEqual([]);
    expect(models.headers.get("x-switchboard-unavailable-providers")).toBe("openai");
    expect(world.gw.logs.entries.some((line) => line.provider === "openai" && /left out of ListModels/.test(line.msg))).toBe(true);
  });

  it("answers NOT_FOUND, with a reason, for a provider that is not configured", async () => {
    const err = await failure(health().check({ service: "provider/anthropic" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SERVICE_NOT_FOUND");
  });
});

describe("health when a provider's circuit breaker opens", () => {
  const world = gatewayOverOpenAIFake({ traffic: { retry: { max_attempts: 1 }, breaker: { consecutive_failures: 2, open_ms: 60_000 } } });

  it("says degraded while the breaker is open, with when calls resume", async () => {
    world.fake.enqueue({ kind: "error", status: 500, body: { error: { message: "boom" } } }, { kind: "error", status: 500, body: { error: { message: "boom" } } });
    for (let i = 0; i < 2; i++) expect((await failure(world.gw.client("connect").chat(hello))).code).toBe(Code.Unavailable);

    const { body } = await getJson(`${world.gw.url}/healthz`);
    expect(body.status).toBe("degraded");
    expect(body.providers.openai).toEqual({ status: "degraded", reason: expect.stringMatching(/^circuit breaker open after repeated failures; calls resume in \d+ s$/) });
    expect((await createClient(Health, world.gw.transport("grpc", null)).check({ service: "provider/openai" })).status).toBe(Status.NOT_SERVING);
  });
});
