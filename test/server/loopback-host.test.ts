// DNS rebinding: a page whose name is rebound to 127.0.0.1 is same-origin
// with a gateway listening there, so CORS keeps nothing from it. A loopback
// listener answers only requests addressed to a loopback name or an address;
// nginx on the same machine (deploy/nginx.conf) still reaches it.
import { request as httpRequest } from "node:http";
import { connect as connectH2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { addressesThisMachine, refuseForeignHostsOnLoopback } from "../../src/server/host-check.js";
import { startNginx, type Nginx } from "../deploy/support/nginx.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o-mini"] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

/** An HTTP/1.1 GET to 127.0.0.1 (the gateway's port unless `port` says otherwise) carrying `host` as its Host header. */
function get(path: string, host: string, port = gw.port): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers: { host, authorization: `Bearer ${MASTER_KEY}` }, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a gateway listening on loopback", () => {
  it("refuses, on every path, a request addressed to a name that is not localhost, with 421 and one line saying why", async () => {
    for (const path of ["/metrics", "/healthz", "/readyz", "/v1/models", "/console/", "/switchboard.v1.AIService/ListModels"]) {
      const answer = await get(path, `rebound.example:${gw.port}`);
      expect({ path, status: answer.status }).toEqual({ path, status: 421 });
      expect(answer.body).toMatch(/^this gateway listens on loopback and answers only requests addressed to localhost or an IP address .*\n$/);
      expect(answer.body).not.toContain("switchboard_");
    }
    // A trailing dot or upper case is still the page's own name.
    for (const host of ["REBOUND.example", "rebound.example.", "localhost.rebound.example", "127.0.0.1.nip.io"]) expect((await get("/metrics", host)).status).toBe(421);
  });

  it("answers requests addressed to localhost, a name under it, or an address", async () => {
    for (const host of [`localhost:${gw.port}`, "LOCALHOST", "console.localhost", `127.0.0.1:${gw.port}`, "127.1", `[::1]:${gw.port}`, "10.0.0.7"]) {
      expect({ host, status: (await get("/healthz", host)).status }).toEqual({ host, status: 200 });
    }
    expect((await get("/metrics", "localhost")).body).toContain("switchboard_");
  });

  it("reads an absolute-form request line's authority, not Host (RFC 9112 §3.2.2)", async () => {
    const raw = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connectTcp(gw.port, "127.0.0.1");
        let answer = "";
        socket.on("data", (chunk) => (answer += chunk));
        socket.on("end", () => resolve(answer));
        socket.on("error", reject);
        socket.end(bytes);
      });
    expect(await raw("GET http://rebound.example/metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 421 /);
    expect(await raw(`GET http://127.0.0.1:${gw.port}/healthz HTTP/1.1\r\nhost: elsewhere.example\r\nconnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("refuses an HTTP/2 request whose :authority is a name that is not localhost", async () => {
    const session = connectH2(gw.url);
    try {
      const ask = (authority: string) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request({ ":path": "/metrics", ":authority": authority });
          stream.on("response", (headers) => resolve(Number(headers[":status"])));
          stream.on("error", reject);
          stream.resume();
        });
      expect(await ask("rebound.example")).toBe(421);
      expect(await ask(`localhost:${gw.port}`)).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("which listeners check Host", () => {
  it("leaves a listener on other addresses alone (a proxy in front sends its callers' Host)", () => {
    const handler = () => undefined;
    for (const listen of ["0.0.0.0", "::", "10.0.0.7", "gateway.internal"]) expect(refuseForeignHostsOnLoopback(listen, handler)).toBe(handler);
    for (const listen of ["127.0.0.1", "127.0.0.2", "::1", "localhost"]) expect(refuseForeignHostsOnLoopback(listen, handler)).not.toBe(handler);
  });

  it("reads Host as browsers write it", () => {
    for (const host of ["localhost", "a.b.localhost:80", "127.0.0.1:8080", "0x7f.1", "[::1]:8080", "[fe80::1]", "192.168.1.2"]) expect({ host, ok: addressesThisMachine(host) }).toEqual({ host, ok: true });
    for (const host of ["example.com", "localhost.example.com", "xn--localhost", "a b", "", "[::1"]) expect({ host, ok: addressesThisMachine(host) }).toEqual({ host, ok: false });
  });
});

// deploy/nginx.conf itself in front of the gateway on loopback, as nginx on the same machine runs.
describe("nginx on the same machine (deploy/nginx.conf)", () => {
  let nginx: Nginx;
  beforeAll(async () => {
    const address = `127.0.0.1:${gw.port}`;
    nginx = await startNginx([address, address, address], mkdtempSync(join(tmpdir(), "sb-nginx-host-")));
  });
  afterAll(async () => {
    await nginx?.close();
  });

  it("reaches it in every protocol, whatever Host its callers used", async () => {
    const viaHttp = await get("/v1/models", "api.example.com", Number(new URL(nginx.httpUrl).port));
    expect(viaHttp.status, nginx.log()).toBe(200);
    const grpc = createClient(Health, createGrpcTransport({ baseUrl: nginx.h2cUrl }));
    expect((await grpc.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
