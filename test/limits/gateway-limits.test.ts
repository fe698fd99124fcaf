import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { failure } from "../support/failure.js";
import { tempDir } from "../support/stores.js";
import { BACKENDS, startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

describe.each(BACKENDS)("rate limits per key on %s", (backend) => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld(backend);
  });
  afterAll(() => world.close());

  it("refuses requests over the per-minute limit with ResourceExhausted, a retry delay and a retry-after header", async () => {
    const { secret } = await world.admin().createKey({ keyId: "rpm-three", key: { displayName: "three a minute", requestsPerMinute: 3 } });
    const client = world.gw.client("grpc", secret);
    for (let i = 0; i < 3; i++) await client.chat(hi);
    const before = world.fake.requests.length;
    const err = await failure(client.chat(hi));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^key "rpm-three" is over its limit of 3 requests per minute; retry in \d+ s$/);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", metadata: { limit: "requests_per_minute", value: "3" } });
    const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
    expect(Number(delay?.seconds)).toBeGreaterThan(0);
    expect(Number(delay?.seconds)).toBeLessThanOrEqual(20);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(0);
    expect(world.fake.requests.length).toBe(before);

    // Over plain HTTP: 429 with Retry-After, on Connect and on the OpenAI surface alike.
    const connect = await fetch(`${world.gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }),
    });
    expect(connect.status).toBe(429);
    expect(Number(connect.headers.get("retry-after"))).toBeGreaterThan(0);
    const rest = await fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(rest.status).toBe(429);
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);

    // Other keys are not affected.
    const other = await world.admin().createKey({ key: { displayName: "other", requestsPerMinute: 3 } });
    expect((await world.gw.client("grpc", other.secret).chat(hi)).model).toBe("gpt-4o-mini");

    // Refused before their requests were read (UsageHooks.takeRequest), the calls are not in the ledger, whose rows say
    // what a call was (method, model) and what it used: the refusals are counted in the metric and the calls' log lines.
    const report = await world.admin().getUsageReport({ key: "keys/rpm-three" });
    expect(Number(report.total?.requests)).toBe(3);
    expect(Number(report.total?.errors)).toBe(0);
    expect(await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_rate_limited_total")).toContain('switchboard_rate_limited_total{limit="requests"} 3');
  });

  it("estimates tokens before a call and reconciles them with the vendor's count after it", async () => {
    // Each call asks for up to 400 completion tokens (estimate ~404) but really uses 6.
    const { secret } = await world.admin().createKey({ keyId: "tpm", key: { displayName: "tokens", tokensPerMinute: 1000n } });
    const client = world.gw.client("connect", secret);
    const asking = { ...hi, maxTokens: 400 };
    // Without reconciliation the third call would be refused (3 × 404 > 1000).
    for (let i = 0; i < 10; i++) await client.chat(asking);
    const big = await failure(client.chat({ ...hi, maxTokens: 990 }));
    expect(big.code).toBe(Code.ResourceExhausted);
    expect(big.findDetails(ErrorInfoSchema)[0]?.metadata.limit).toBe("tokens_per_minute");
  });

  it("takes the most a call without max_tokens may use, so that a burst cannot pass the limit; such a call still goes through alone", async () => {
    // gpt-4o-mini may answer 16,384 tokens (the catalogue): more than the key's minute, so the first call takes all of it.
    const { secret } = await world.admin().createKey({ keyId: "tpm-bound", key: { displayName: "bounded tokens", tokensPerMinute: 1000n } });
    const client = world.gw.client("connect", secret);
    world.fake.enqueue({ kind: "hang" });
    const asked = world.fake.requests.length;
    const hanging = new AbortController();
    const first = failure(client.chat(hi, { signal: hanging.signal }));
    await expect.poll(() => world.fake.requests.length).toBe(asked + 1);

    // While it runs, the next call is refused (an estimate of ~260 tokens a call let dozens through at once).
    const second = await failure(client.chat(hi));
    expect(second.code).toBe(Code.ResourceExhausted);
    expect(second.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ limit: "tokens_per_minute", value: "1000" });
    expect(world.fake.requests.length).toBe(asked + 1);

    // Once it ends, what it did not use is given back: a call that fits what is left goes through.
    hanging.abort();
    expect((await first).code).toBe(Code.Canceled);
    await expect.poll(() => client.chat({ ...hi, maxTokens: 400 }).then(() => "served", (err: unknown) => String(err))).toBe("served");
  });
});

describe("when Redis is unreachable", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world.close());

  it("fails open with local limits by default, and health says so", async () => {
    const gw = await world.start({ REDIS_URL: "redis://127.0.0.1:1", REDIS_PREFIX: "down:", SWITCHBOARD_DATA_DIR: tempDir() });
    const { secret } = await createClient(AdminService, gw.transport("connect")).createKey({
      key: { displayName: "local", requestsPerMinute: 2 },
    });
    const client = gw.client("connect", secret);
    await client.chat(hi);
    await client.chat(hi);
    expect((await failure(client.chat(hi))).code).toBe(Code.ResourceExhausted);

    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
    expect(health.status).toBe("degraded");
    expect(health.dependencies.redis).toMatch(/^unreachable .*limits and budgets are counted per instance \(policy: fail open\)$/);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const grpcHealth = createClient(Health, gw.transport("grpc", null));
    expect((await grpcHealth.check({ service: "redis" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect((await grpcHealth.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await gw.app.metrics.registry.getSingleMetricAsString("switchboard_redis_up")).toContain("switchboard_redis_up 0");
  });

  it("refuses limited calls with Unavailable when the policy is to fail closed, and stays ready (Redis is every instance's)", async () => {
    const gw = await world.start({ REDIS_URL: "redis://127.0.0.1:1", REDIS_FAILURE_POLICY: "closed", SWITCHBOARD_DATA_DIR: tempDir() });
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({ key: { displayName: "closed", requestsPerMinute: 100 } });
    const err = await failure(gw.client("connect", secret).chat(hi));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("LIMITS_UNAVAILABLE");
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    // Keys without limits or budgets still work; so does the master key.
    const free = await admin.createKey({ key: { displayName: "free" } });
    expect((await gw.client("connect", free.secret).chat(hi)).model).toBe("gpt-4o-mini");
    const report = await admin.getUsageReport({ groupBy: [UsageDimension.KEY] });
    expect(report.rows.length).toBeGreaterThan(0);
  });
});
