import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { isLoopbackHost, metricsAccessFromEnv } from "../../src/server/metrics-access.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

// /metrics shows key ids, teams, spend and budgets on the port every client
// reaches: with SWITCHBOARD_METRICS_TOKEN set, only a scraper presenting it reads them.

const TOKEN = "metrics-token-0123456789abcdef";

describe("/metrics with SWITCHBOARD_METRICS_TOKEN", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ SWITCHBOARD_METRICS_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it.each([
    ["no Authorization", {}],
    ["a wrong token", { authorization: "Bearer metrics-token-0123456789abcdeF" }],
    ["the token as Basic", { authorization: `Basic ${TOKEN}` }],
    ["the gateway's master key", { authorization: "Bearer sk-test-master-key-0123456789" }],
  ])("refuses %s with 401 and a bearer challenge", async (_, headers) => {
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(`${gw.url}/metrics`, { method, headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      expect(await res.text()).not.toContain("switchboard_");
    }
  });

  it("serves the scraper that presents it", async () => {
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("switchboard_requests_total");
  });

  it("leaves health checks open", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe("SWITCHBOARD_METRICS_TOKEN", () => {
  it("must be long enough not to be guessed, and fit a header", () => {
    for (const token of ["short", "with spaces in it, long enough", "line\nbreak-0123456789abcdef"]) {
      expect(() => metricsAccessFromEnv({ SWITCHBOARD_METRICS_TOKEN: token })).toThrow(ConfigError);
    }
    expect(metricsAccessFromEnv({}).open).toBe(true);
    expect(metricsAccessFromEnv({ SWITCHBOARD_METRICS_TOKEN: TOKEN }).open).toBe(false);
  });

  it("is asked for at start only where the port is reachable from elsewhere", () => {
    expect(["127.0.0.1", "127.8.0.1", "::1", "localhost"].every(isLoopbackHost)).toBe(true);
    expect(["0.0.0.0", "::", "10.0.0.5"].some(isLoopbackHost)).toBe(false);
  });
});
