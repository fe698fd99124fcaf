// /metrics renders the whole registry on the event loop, and by default anyone
// who reaches the port may scrape: concurrent scrapes share one render, and a
// rendered text is served again for METRICS_RENDER_REUSE_MS, never longer.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { HealthState } from "../../src/common/health-state.js";
import { METRICS_RENDER_REUSE_MS, MetricsRenderCache, metricsReuseFromEnv } from "../../src/observability/metrics-render-cache.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createHttpHandler } from "../../src/server/http-handler.js";
import { MetricsAccess } from "../../src/server/metrics-access.js";

const TOKEN = "metrics-token-0123456789abcdef";

describe("MetricsRenderCache", () => {
  it("takes its window from SWITCHBOARD_METRICS_REUSE_MS, refusing what is not 0 to 60000 ms", () => {
    expect(metricsReuseFromEnv({})).toBe(METRICS_RENDER_REUSE_MS);
    expect(metricsReuseFromEnv({ SWITCHBOARD_METRICS_REUSE_MS: "0" })).toBe(0);
    expect(metricsReuseFromEnv({ SWITCHBOARD_METRICS_REUSE_MS: "2500" })).toBe(2500);
    for (const bad of ["-1", "1.5", "60001", "1e3", "soon"]) {
      expect(() => metricsReuseFromEnv({ SWITCHBOARD_METRICS_REUSE_MS: bad })).toThrow(/SWITCHBOARD_METRICS_REUSE_MS: .* from 0 to 60000/);
    }
  });

  it("shares a render in flight, serves it again inside the window, renders anew at its end", async () => {
    let clock = 0;
    let renders = 0;
    const cache = new MetricsRenderCache(async () => `render ${++renders}`, { now: () => clock });
    expect(new Set(await Promise.all(Array.from({ length: 20 }, () => cache.text())))).toEqual(new Set(["render 1"]));
    clock = METRICS_RENDER_REUSE_MS - 1;
    expect(await cache.text()).toBe("render 1");
    clock = METRICS_RENDER_REUSE_MS;
    expect(await cache.text()).toBe("render 2");
    expect(renders).toBe(2);
  });

  it("keeps no failed render: the next scrape tries again", async () => {
    const render = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error("collect failed")).mockResolvedValue("text");
    const cache = new MetricsRenderCache(render, { now: () => 0 });
    await expect(Promise.all([cache.text(), cache.text()])).rejects.toThrow("collect failed");
    expect(await cache.text()).toBe("text");
    expect(render).toHaveBeenCalledTimes(2);
  });
});

describe("GET /metrics", () => {
  let clock = 0;
  const servers: Server[] = [];
  const open = new GatewayMetrics({ defaultMetrics: false });
  const guarded = new GatewayMetrics({ defaultMetrics: false });

  /** Serves `metrics` on a port of the system's choosing (a fixed one in the ephemeral range can be taken by any outgoing connection); returns it. */
  async function serve(metrics: GatewayMetrics, metricsAccess?: MetricsAccess): Promise<number> {
    const handler = createHttpHandler({
      routes: (router) => router.service(AIService, {}),
      interceptors: [],
      corsOrigins: [],
      metrics,
      metricsAccess,
      metricsRender: { now: () => clock },
      health: new HealthState([AIService.typeName]),
    });
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  let openPort = 0;
  let guardedPort = 0;
  beforeAll(async () => {
    openPort = await serve(open);
    guardedPort = await serve(guarded, new MetricsAccess(TOKEN));
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  const served = (text: string) => Number(/switchboard_requests_total\{surface="rest",method="m",code="ok"\} (\d+)/.exec(text)?.[1] ?? 0);

  it("costs one render for twenty concurrent scrapes, and shows a later count once the window is over", async () => {
    const renders = vi.spyOn(open.registry, "metrics");
    open.requests.inc({ surface: "rest", method: "m", code: "ok" });
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${openPort}/metrics`)));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(open.registry.contentType);
      expect(served(await res.text())).toBe(1);
    }
    expect(renders).toHaveBeenCalledTimes(1);

    open.requests.inc({ surface: "rest", method: "m", code: "ok" });
    clock += METRICS_RENDER_REUSE_MS - 1;
    expect(served(await (await fetch(`http://127.0.0.1:${openPort}/metrics`)).text())).toBe(1);
    clock += 1;
    expect(served(await (await fetch(`http://127.0.0.1:${openPort}/metrics`)).text())).toBe(2);
    expect(renders).toHaveBeenCalledTimes(2);
  });

  it("renders nothing for a scraper without the token", async () => {
    const renders = vi.spyOn(guarded.registry, "metrics");
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${guardedPort}/metrics`);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain("switchboard_");
    }
    expect(renders).not.toHaveBeenCalled();
    const res = await fetch(`http://127.0.0.1:${guardedPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await res.text()).toContain("switchboard_requests_total");
    expect(renders).toHaveBeenCalledTimes(1);
  });
});
