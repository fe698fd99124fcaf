// The console's provider health (GetLiveStats) counted every attempt not answered 2xx as a failure: callers'
// cancellations and callers' mistakes (a model the vendor does not have) made a healthy vendor read "74% failed",
// and cancelled streams' durations inflated its latency. Now only what says the vendor is unhealthy fails
// (5xx, timeouts, unreachable, unreadable answers); answers about the request or a key are attempts the vendor
// answered, and cancellations are left out of the counts and the percentiles.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { attemptHealth } from "../../src/api/admin/attempt-health.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("what an attempt's status says of the vendor", () => {
  it("fails the vendor on 5xx, 408, 409, timeouts, unreachable and unreadable answers only; leaves cancellations out", () => {
    const of = (statuses: string[]) => statuses.map(attemptHealth);
    expect(of(["500", "503", "529", "408", "409", "timeout", "unreachable", "overloaded", "bad_response", "302"])).toEqual(Array(10).fill("failed"));
    expect(of(["200", "204", "400", "401", "403", "404", "422", "429", "model_not_found", "rate_limited", "credential_rejected", "error"])).toEqual(Array(12).fill("answered"));
    expect(attemptHealth("cancelled")).toBe("left_out");
  });
});

describe("GetLiveStats on a healthy vendor that callers cancel and ask for models it lacks", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });
  const liveStats = async () => (await createClient(AdminService, gw.transport("connect")).getLiveStats({})).providers.find((p) => p.name === "providers/vendor")!;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-vendor", chunkDelayMs: 50, extraWords: 200 });
    gw = await startGateway(
      { VENDOR_KEY: "sk-vendor" },
      {
        providers: { vendor: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:VENDOR_KEY" } },
        routes: [
          { model: "served-model", provider: "vendor", upstream_model: "gpt-4o-mini" },
          { model: "missing-model", provider: "vendor", upstream_model: "gpt-4o-mini-the-vendor-lacks" },
        ],
        traffic: { retry: { max_attempts: 1 } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("counts the vendor's 503 as failed, not the caller's cancelled streams or its unknown model", async () => {
    await gw.client().chat(ask("served-model"));
    await gw.client().chat(ask("missing-model")).catch(() => undefined);
    await gw.client().chat(ask("missing-model")).catch(() => undefined);
    for (let i = 0; i < 3; i++) {
      const stop = new AbortController();
      await (async () => {
        for await (const _ of gw.client().chatStream(ask("served-model"), { signal: stop.signal })) stop.abort();
      })().catch(() => undefined);
    }
    fake.enqueue({ kind: "error", status: 503, body: { error: { message: "The server is overloaded", type: "server_error" } } });
    await gw.client().chat(ask("served-model")).catch(() => undefined);

    // The cancelled attempts end a moment after their callers left: wait until the metrics have all seven.
    await expect.poll(async () => (await gw.app.metrics.upstreamDuration.get()).values.filter((v) => v.metricName?.endsWith("_count")).reduce((sum, v) => sum + v.value, 0)).toBe(7);
    const vendor = await liveStats();
    expect(vendor.attempts).toBe(4n); // the answer, the two 404s and the 503
    expect(vendor.failedAttempts).toBe(1n);
  });
});
