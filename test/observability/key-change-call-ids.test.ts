// The key pool's lines about a change a call's attempt caused ("the vendor rejected a key", "key state changed":
// a key disabled on a 401, benched on a 429) carried no requestId or traceId, so a disabled key could not be joined
// to the call (or trace) that disabled it, though docs/operations.md says such lines carry them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** Where spans go: tracing is on so that calls have trace ids; what is sent is not read. */
let otlp: Server;
let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  otlp = createServer((req, res) => req.resume().on("end", () => res.end()));
  // Port 0: a fixed port in the ephemeral range can be taken by any outgoing connection of the suite.
  await new Promise<void>((resolve) => otlp.listen(0, "127.0.0.1", resolve));
  const otlpPort = (otlp.address() as AddressInfo).port;
  fake = await startOpenAIFake({ apiKey: "sk-limited-vendor-key" });
  fake.failKey("sk-limited-vendor-key", { kind: "error", status: 429, body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } } });
  gw = await startGateway(
    {
      REJECTED_KEY: "sk-rejected-vendor-key",
      LIMITED_KEY: "sk-limited-vendor-key",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
    },
    {
      providers: {
        rejected: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:REJECTED_KEY" },
        limited: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:LIMITED_KEY" },
      },
      routes: [
        { model: "rejected-model", provider: "rejected", upstream_model: "gpt-4o-mini" },
        { model: "limited-model", provider: "limited", upstream_model: "gpt-4o-mini" },
      ],
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await new Promise((resolve) => otlp?.close(resolve));
});

/** Sends one call with `requestId`; the trace id the gateway answered with. */
async function callAs(model: string, requestId: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  expect(res.ok).toBe(false);
  expect(res.headers.get("x-request-id")).toBe(requestId);
  return res.headers.get("x-trace-id")!;
}

const linesAbout = (credential: string) => gw.logs.entries.filter((e) => e.component === "key-pool" && e.credential === credential);

it("a key the vendor rejects is disabled on lines naming the call that met the rejection", async () => {
  const traceId = await callAs("rejected-model", "call-met-a-401");
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  const lines = linesAbout("rejected/default");
  expect(lines.map((e) => e.msg)).toEqual(["the vendor rejected a key", "key state changed"]);
  for (const line of lines) expect(line).toMatchObject({ requestId: "call-met-a-401", traceId });
  expect(lines[1]).toMatchObject({ from: "active", to: "disabled", cause: "credential_rejected" });
});

it("a key the vendor rate-limits is benched on a line naming the call", async () => {
  const traceId = await callAs("limited-model", "call-met-a-429");
  const benched = linesAbout("limited/default").find((e) => e.msg === "key state changed");
  expect(benched).toMatchObject({ from: "active", to: "cooling_down", cause: "rate_limited", requestId: "call-met-a-429", traceId });
});
