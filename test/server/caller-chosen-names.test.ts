// What a caller names (a method token, a model behind a glob route) never
// becomes a metric series of its own past a bound, a request the one-port
// server cannot route is answered, never thrown out of the handler, and a
// REST path asked with the wrong method says which methods it takes.
import { connect as connectH2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o-mini"] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { routes: [{ model: "gpt-*", provider: "openai", cache: { mode: "always" } }] });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();

/** Sends one HTTP/2 request with any method token; resolves to its status. */
function h2Request(method: string, path: string): Promise<number> {
  const session = connectH2(gw.url);
  return new Promise<number>((resolve, reject) => {
    const stream = session.request({ ":method": method, ":path": path });
    stream.on("response", (headers) => resolve(Number(headers[":status"])));
    stream.on("error", reject);
    stream.resume();
    stream.end();
  }).finally(() => session.close());
}

/** Sends raw bytes on a new connection; resolves to everything the server wrote before it closed. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(gw.port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.end(bytes);
  });
}

describe("names a caller chooses", () => {
  it("counts REST calls no route takes as one series, whatever their HTTP/2 method", async () => {
    for (let i = 0; i < 20; i++) expect(await h2Request(`CALLERMETHOD${i}`, "/v1/anything")).toBe(404);
    const text = await metrics();
    expect(text).not.toContain("CALLERMETHOD");
    expect(text).toMatch(/switchboard_requests_total\{[^}]*method="REST unknown"[^}]*\} 20/);
  });

  it("bounds the model label of cache metrics, whatever models a glob route lets callers name", async () => {
    const headers = { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" };
    for (let i = 0; i < 230; i++) {
      await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: `gpt-made-up-${i}`, messages: [{ role: "user", content: "hi" }] }) }).then((r) => r.text());
    }
    const models = new Set([...(await metrics()).matchAll(/switchboard_cache_misses_total\{[^}]*model="([^"]*)"/g)].map((m) => m[1]));
    expect(models.size).toBeLessThanOrEqual(201);
    expect(models.has("other")).toBe(true);
    // Names no vendor served took no place: a real model served afterwards counts under its own name, not "other".
    expect(models.has("gpt-made-up-0")).toBe(false);
    const served = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }) });
    expect(served.status).toBe(200);
    expect(await metrics()).toMatch(/switchboard_tokens_total\{[^}]*model="gpt-4o-mini"[^}]*\} [1-9]/);
  });
});

describe("requests the server cannot route", () => {
  it("answers a Connect call with no Host header (HTTP/1.0 allows none) with 400, and goes on serving", async () => {
    const answer = await raw("POST /grpc.health.v1.Health/Check HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("a request needs a valid Host header");
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it("answers a REST path asked with a method it does not take with 405 and Allow", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("method_not_allowed");
    expect(body.error.message).toBe("/v1/chat/completions does not take GET; it takes POST");
    expect((await fetch(`${gw.url}/v1/models`, { method: "DELETE" })).headers.get("allow")).toBe("GET");
    expect((await fetch(`${gw.url}/v1/messages`, { headers: { "anthropic-version": "2023-06-01" } })).status).toBe(405);
  });

  it("answers HEAD on the health and metrics endpoints as GET, without a body, over HTTP/1.1 and HTTP/2", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const res = await fetch(`${gw.url}${path}`, { method: "HEAD" });
      expect([path, res.status, (await res.arrayBuffer()).byteLength]).toEqual([path, 200, 0]);
      expect(await h2Request("HEAD", path)).toBe(200);
    }
  });
});
