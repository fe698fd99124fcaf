// GET / (the address the gateway prints, opened in a browser or curled) says
// what the port serves, rather than an empty 404: a browser is sent to the
// console when it is built, a JSON client gets the surfaces as JSON, curl as
// text; never a provider, a model or a key. Other methods on / keep their refusal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { HealthState } from "../../src/common/health-state.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { loadConsoleAssets } from "../../src/server/console-assets.js";
import { createHttpHandler } from "../../src/server/http-handler.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const VENDOR_KEY = "sk-up-landing-secret";
/** A provider name no word of the page could hold by chance. */
const PROVIDER = "acme-upstream";

let fake: OpenAIFake;
let gw: TestGateway;
let root: string;
const servers: Server[] = [];

/** A bare handler on loopback with the console as given (built from `dir`, or none). */
async function serveHandler(consoleDir: string | undefined): Promise<string> {
  const handler = createHttpHandler({
    routes: (router) => router.service(AIService, {}),
    interceptors: [],
    corsOrigins: [],
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    health: new HealthState([AIService.typeName]),
    console: consoleDir === undefined ? undefined : loadConsoleAssets(consoleDir),
  });
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: VENDOR_KEY });
  gw = await startGateway({ ACME_KEY: VENDOR_KEY }, { providers: { [PROVIDER]: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:ACME_KEY" } } });
  root = mkdtempSync(join(tmpdir(), "landing-page-"));
  mkdirSync(join(root, "console"));
  writeFileSync(join(root, "console/index.html"), "<!doctype html><title>console</title>");
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await gw?.stop();
  await fake?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("GET / on the gateway's port", () => {
  it("tells curl, in text, the REST endpoints, the services, the console, health, metrics and the docs", async () => {
    const res = await fetch(`${gw.url}/`, { headers: { accept: "*/*" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("vary")).toBe("accept");
    const text = await res.text();
    for (const surface of ["POST /v1/chat/completions", "POST /v1/messages", "POST /v1/responses", "GET /v1/models", "switchboard.v1.AIService", "switchboard.v1.AdminService", "grpc.health.v1.Health", "/console/", "/healthz", "/metrics", "docs/clients.md", "authorization: Bearer"]) {
      expect(text).toContain(surface);
    }
  });

  it("reveals no provider, model or key", async () => {
    // The gateway does have the provider (its health names it).
    expect(await (await fetch(`${gw.url}/healthz`)).text()).toContain(PROVIDER);
    const answers = await Promise.all(["*/*", "application/json"].map(async (accept) => (await fetch(`${gw.url}/`, { headers: { accept } })).text()));
    for (const body of answers) {
      for (const secret of [PROVIDER, fake.baseUrl, VENDOR_KEY, "sk-up", MASTER_KEY, "gpt-"]) expect(body).not.toContain(secret);
    }
  });

  it("answers JSON to a client that asks for it, and HEAD as GET without a body", async () => {
    const res = await fetch(`${gw.url}/?from=sdk`, { headers: { accept: "application/json" } });
    expect(res.headers.get("content-type")).toBe("application/json");
    const page = (await res.json()) as { rest: { endpoints: string[] }; services: string[] };
    expect(page.rest.endpoints).toContain("POST /v1/chat/completions (OpenAI)");
    expect(page.services).toEqual(expect.arrayContaining(["switchboard.v1.AIService", "grpc.reflection.v1.ServerReflection"]));
    expect(page).toMatchObject({ health: ["/healthz", "/readyz"], metrics: "/metrics" });

    const head = await fetch(`${gw.url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("keeps the refusal of other methods on /", async () => {
    const post = await fetch(`${gw.url}/`, { method: "POST", body: "{}" });
    expect(post.status).toBe(404);
    expect(await post.text()).toBe("");
  });

  it("sends a browser to the console when it is built, and shows the page when it is not", async () => {
    const built = await serveHandler(join(root, "console"));
    const redirect = await fetch(`${built}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/console/");
    // Only a browser is redirected: curl gets the page.
    expect((await fetch(`${built}/`, { headers: { accept: "*/*" } })).status).toBe(200);

    const unbuilt = await fetch(`${await serveHandler(join(root, "missing"))}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: "manual" });
    expect(unbuilt.status).toBe(200);
    expect(await unbuilt.text()).toContain("/console/ (not built here: npm run build:console)");

    const noConsole = await (await fetch(`${await serveHandler(undefined)}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: "manual" })).text();
    expect(noConsole).not.toContain("console");
    // No REST surface on this handler: none is named.
    expect(noConsole).not.toContain("/v1/");
    expect(noConsole).toContain("switchboard.v1.AIService");
  });
});
