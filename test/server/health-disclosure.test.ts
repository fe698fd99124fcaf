// /healthz and /readyz answer anyone without a key, and their body named every configured provider and
// dependency with why it is degraded ("no usable key: 1 disabled by the vendor (HTTP 401, …)"):
// reconnaissance for anyone on the internet. The detail now goes only to callers inside the network
// (loopback, private, link-local: a kubelet, a load balancer's check, a monitor) that no proxy passed
// on, and to one holding the /metrics token; anyone else reads the status alone, with the same HTTP
// status, so that load balancers outside the network still work. gRPC health's List alike.
// A public caller is simulated by giving the request's socket another remote address, as the
// per-client tests give theirs (test/server/health-watches.test.ts, test/keys/key-flood.test.ts).
import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { HealthState } from "../../src/common/health-state.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { remoteAddressKey } from "../../src/server/client-key.js";
import { createHealthService } from "../../src/server/health-service.js";
import { createHttpHandler } from "../../src/server/http-handler.js";
import { MetricsAccess } from "../../src/server/metrics-access.js";

const REASON = "no usable key: 1 disabled by the vendor (HTTP 401, invalid_api_key)";
const REDIS = "unreachable (ECONNREFUSED); calls go on without shared limits (policy: fail open)";
const TOKEN = "metrics-token-0123456789abcdef";

const PUBLIC = ["203.0.113.7", "::ffff:198.51.100.9", "2001:db8::1"];
const INSIDE = ["10.1.2.3", "172.20.0.4", "192.168.1.10", "169.254.169.254", "::ffff:10.0.0.5", "fd00::1", "fe80::1%eth0"];

/** A health state with one degraded provider, one serving, and Redis down (not required). */
function degradedHealth(): HealthState {
  const health = new HealthState([AIService.typeName]);
  health.readProvidersFrom({
    names: () => ["openai", "anthropic"],
    of: (name) => (name === "openai" ? { serving: false, reason: REASON } : { serving: true, reason: "" }),
  });
  health.setDependency("redis", { ok: false, detail: REDIS, required: false });
  return health;
}

const FULL_BODY = {
  status: "degraded",
  dependencies: { redis: REDIS },
  providers: { openai: { status: "degraded", reason: REASON }, anthropic: { status: "serving" } },
};

describe("/healthz and /readyz", () => {
  const servers: Server[] = [];
  /** The remote address the next requests' sockets report; undefined: the real one (loopback). */
  let pretendAddress: string | undefined;

  /** A handler on loopback (port 0), each request's socket made to come from `pretendAddress`. */
  async function serve(health: HealthState, metricsAccess?: MetricsAccess): Promise<string> {
    const handler = createHttpHandler({ routes: () => {}, interceptors: [], corsOrigins: [], metrics: new GatewayMetrics({ defaultMetrics: false }), health, metricsAccess });
    const server = createServer((req, res) => {
      if (pretendAddress !== undefined) Object.defineProperty(req.socket, "remoteAddress", { value: pretendAddress, configurable: true });
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function get(url: string, from: string | undefined, headers: Record<string, string> = {}) {
    pretendAddress = from;
    // A fresh connection each time: a socket's address is set per request, never left to the next.
    const res = await fetch(url, { headers: { connection: "close", ...headers } });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  let url: string;
  let health: HealthState;
  beforeAll(async () => {
    health = degradedHealth();
    url = await serve(health);
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it("names providers, dependencies and reasons to a caller on loopback", async () => {
    for (const path of ["/healthz", "/readyz"]) expect(await get(`${url}${path}`, undefined)).toEqual({ status: 200, body: FULL_BODY });
  });

  it.each(INSIDE)("names them to a caller on a private or link-local address (%s)", async (address) => {
    expect(await get(`${url}/healthz`, address)).toEqual({ status: 200, body: FULL_BODY });
  });

  it.each(PUBLIC)("gives a caller on a public address (%s) the status alone, with the same HTTP status", async (address) => {
    for (const path of ["/healthz", "/readyz"]) expect(await get(`${url}${path}`, address)).toEqual({ status: 200, body: { status: "degraded" } });
  });

  it.each(["x-forwarded-for", "forwarded", "x-real-ip", "via"])("counts a request a proxy passed on (%s) as public, from loopback or a private address alike", async (header) => {
    for (const address of [undefined, "10.1.2.3"]) expect(await get(`${url}/healthz`, address, { [header]: "203.0.113.7" })).toEqual({ status: 200, body: { status: "degraded" } });
  });

  it("says ok alone to a public caller while nothing is degraded, and 503 while draining to both alike", async () => {
    const fine = new HealthState([AIService.typeName]);
    const fineUrl = await serve(fine);
    expect(await get(`${fineUrl}/readyz`, "203.0.113.7")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get(`${fineUrl}/readyz`, undefined)).toEqual({ status: 200, body: { status: "ok", dependencies: {}, providers: {} } });

    fine.setServing(false);
    expect(await get(`${fineUrl}/readyz`, "203.0.113.7")).toEqual({ status: 503, body: { status: "draining" } });
    expect(await get(`${fineUrl}/readyz`, undefined)).toEqual({ status: 503, body: { status: "draining", dependencies: {}, providers: {} } });
    expect(await get(`${fineUrl}/healthz`, "203.0.113.7")).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("names them to a public caller presenting the /metrics token, and only that token", async () => {
    const tokenUrl = await serve(degradedHealth(), new MetricsAccess(TOKEN));
    expect(await get(`${tokenUrl}/healthz`, "203.0.113.7", { authorization: `Bearer ${TOKEN}` })).toEqual({ status: 200, body: FULL_BODY });
    expect(await get(`${tokenUrl}/healthz`, "10.1.2.3", { authorization: `Bearer ${TOKEN}`, "x-forwarded-for": "203.0.113.7" })).toEqual({ status: 200, body: FULL_BODY });
    expect(await get(`${tokenUrl}/healthz`, "203.0.113.7", { authorization: `Bearer ${TOKEN}x` })).toEqual({ status: 200, body: { status: "degraded" } });
    // Without a token set, /metrics is open to anyone: no bearer value opens health's detail.
    const openUrl = await serve(degradedHealth(), new MetricsAccess(undefined));
    expect(await get(`${openUrl}/healthz`, "203.0.113.7", { authorization: "Bearer anything-at-all" })).toEqual({ status: 200, body: { status: "degraded" } });
  });
});

describe("grpc.health.v1.Health/List", () => {
  function listFrom(address: string | undefined, headers: Record<string, string> = {}): string[] {
    const values = createContextValues();
    values.set(remoteAddressKey, address);
    const ctx = createHandlerContext({
      service: Health,
      method: Health.method.list,
      protocolName: "grpc",
      requestMethod: "POST",
      url: "http://localhost/",
      requestHeader: new Headers(headers),
      contextValues: values,
    });
    const list = createHealthService(degradedHealth()).list as unknown as (req: object, context: typeof ctx) => { statuses: Record<string, unknown> };
    return Object.keys(list({}, ctx).statuses).sort();
  }

  it("names providers and dependencies to a caller inside the network", () => {
    expect(listFrom("127.0.0.1")).toEqual(["", "provider/anthropic", "provider/openai", "redis", AIService.typeName].sort());
    expect(listFrom("10.1.2.3")).toEqual(["", "provider/anthropic", "provider/openai", "redis", AIService.typeName].sort());
  });

  it("names only the server and its own services to a public caller, or one a proxy passed on", () => {
    expect(listFrom("203.0.113.7")).toEqual(["", AIService.typeName].sort());
    expect(listFrom("10.1.2.3", { "x-forwarded-for": "203.0.113.7" })).toEqual(["", AIService.typeName].sort());
    expect(listFrom(undefined)).toEqual(["", AIService.typeName].sort());
  });
});
