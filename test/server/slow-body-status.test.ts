// A client whose request body is still arriving at `request_timeout_ms` was cut
// by a bare close and its call logged as the client's own cancel ("the client
// went away"): the gateway cut it, so it reads a 408 (no answer had begun) and
// the call is logged as DeadlineExceeded (reason SLOW_CLIENT) (protocol audit L3).
import { connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { openRawClient, useCleanup } from "../support/raw-clients.js";

const cleanup = useCleanup();
let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { request_timeout_ms: 300 } });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

/** Sends the headers and the first bytes of a 1000-byte body, then nothing: the deadline, not the client, ends it. What the client read. */
async function halfSent(path: string, type: string, firstBytes: string): Promise<string> {
  const client = await openRawClient(gw.port, cleanup);
  client.socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nauthorization: Bearer ${MASTER_KEY}\r\ncontent-type: ${type}\r\ncontent-length: 1000\r\n\r\n${firstBytes}`);
  await client.closed;
  return client.received();
}

describe("an HTTP/1.1 body still arriving at request_timeout_ms", () => {
  it("REST: answered 408, and the call logged as the gateway's cut, not the client's cancel", async () => {
    gw.logs.lines.length = 0;
    expect(await halfSent("/v1/chat/completions", "application/json", '{"model":')).toMatch(/^HTTP\/1\.1 408 /);

    const ended = () => gw.logs.entries.find((line) => line.method === "REST POST /v1/chat/completions" && line.status !== undefined);
    await expect.poll(ended).toBeDefined();
    expect(ended()).toMatchObject({ status: "deadline_exceeded", error: expect.stringContaining("request_timeout_ms") });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_requests_total\{[^}]*code="deadline_exceeded"/);
  });

  it("REST over HTTP/2: the stream is reset, and the call logged as the gateway's cut too", async () => {
    gw.logs.lines.length = 0;
    const session = connect(gw.url);
    cleanup.push(() => session.destroy());
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` });
    stream.on("error", () => {});
    stream.write('{"model":');
    await new Promise((resolve) => stream.once("close", resolve));

    const ended = () => gw.logs.entries.find((line) => line.method === "REST POST /v1/chat/completions" && line.status !== undefined);
    await expect.poll(ended).toBeDefined();
    expect(ended()).toMatchObject({ status: "deadline_exceeded", error: expect.stringContaining("request_timeout_ms") });
  });

  it("Connect stream: answered 408", async () => {
    // An envelope announcing 100 bytes of JSON, of which a few arrive.
    expect(await halfSent("/switchboard.v1.AIService/ChatStream", "application/connect+json", '\0\0\0\0\x64{"model":')).toMatch(/^HTTP\/1\.1 408 /);
  });
});
