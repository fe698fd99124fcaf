// A key header sent twice (hostile audit 5, finding 4): Node keeps the first
// `authorization` and drops the rest, over HTTP/1.1 and HTTP/2 alike, so the
// gateway judged the call by one key where a proxy in front reading the last
// saw another. Refused now, as two different keys in authorization and
// x-api-key are: 401 CONFLICTING_KEYS in the surface's shape, before any
// key is looked up or any vendor asked.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { CLIENT_PREFACE, FrameType, h2Frame, hpackLiteral } from "../support/h2-frames.js";
import { openRawClient, useCleanup } from "../support/raw-clients.js";

const cleanup = useCleanup();
let fake: OpenAIFake;
let gw: TestGateway;
/** A key scoped to gpt-4o-mini alone. */
let scoped: string;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  const admin = createClient(AdminService, gw.transport("connect"));
  scoped = (await admin.createKey({ keyId: "mini-only", key: { displayName: "mini only", allowedModels: ["gpt-4o-mini"] } })).secret;
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

/** An HTTP/1.1 POST of `body` to `path` with `headers` as written, each on its own line (repeats kept): its status and what came back. */
async function post(path: string, headers: [string, string][], body: string): Promise<{ status: number; text: string }> {
  const client = await openRawClient(gw.port, cleanup);
  const lines = [`POST ${path} HTTP/1.1`, "host: 127.0.0.1", "connection: close", "content-type: application/json", `content-length: ${Buffer.byteLength(body)}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
  client.socket.write(`${lines.join("\r\n")}\r\n\r\n${body}`);
  await client.closed;
  const text = client.received();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text };
}

const chat = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
const messages = JSON.stringify({ model: "gpt-4o", max_tokens: 16, messages: [{ role: "user", content: "hi" }] });

describe("a key header sent more than once over HTTP/1.1", () => {
  it("is refused whichever key comes first, not judged by the first: 401 CONFLICTING_KEYS in the surface's shape", async () => {
    const before = fake.requests.length;
    for (const [first, second] of [
      [scoped, MASTER_KEY],
      [MASTER_KEY, "sk-wrong"],
      [MASTER_KEY, MASTER_KEY],
    ]) {
      const openai = await post("/v1/chat/completions", [["Authorization", `Bearer ${first}`], ["authorization", `Bearer ${second}`]], chat);
      expect(openai.status).toBe(401);
      expect(openai.text).toContain("more than one `authorization` header");
      expect(openai.text).toContain('"type":"authentication_error","param":null,"code":"conflicting_keys"');

      const connect = await post("/switchboard.v1.AIService/ListModels", [["authorization", `Bearer ${first}`], ["authorization", `Bearer ${second}`]], "{}");
      expect(connect.status).toBe(401);
      expect(connect.text).toContain('"code":"unauthenticated"');
      expect(connect.text).toContain('"reason":"CONFLICTING_KEYS"');
    }
    const anthropic = await post("/v1/messages", [["anthropic-version", "2023-06-01"], ["x-api-key", MASTER_KEY], ["x-api-key", scoped]], messages);
    expect(anthropic.status).toBe(401);
    expect(anthropic.text).toContain('"type":"authentication_error"');
    expect(anthropic.text).toContain("more than one `x-api-key` header");
    expect(fake.requests.length).toBe(before);
  });

  it("serves the key sent once, as before", async () => {
    expect((await post("/v1/chat/completions", [["authorization", `Bearer ${MASTER_KEY}`]], chat)).status).toBe(200);
    expect((await post("/v1/chat/completions", [["authorization", `Bearer ${MASTER_KEY}`], ["x-api-key", MASTER_KEY]], chat)).status).toBe(200);
  });
});

describe("a key header sent more than once over HTTP/2", () => {
  it("is refused, as over HTTP/1.1", async () => {
    const client = await openRawClient(gw.port, cleanup);
    const headers = Buffer.concat([
      Buffer.from([0x83, 0x86]), // :method POST, :scheme http (HPACK static table)
      hpackLiteral(":path", "/switchboard.v1.AIService/ListModels"),
      hpackLiteral(":authority", "localhost"),
      hpackLiteral("content-type", "application/json"),
      hpackLiteral("x-request-id", "two-authorizations-h2"),
      hpackLiteral("authorization", `Bearer ${MASTER_KEY}`),
      hpackLiteral("authorization", "Bearer sk-wrong"),
    ]);
    client.socket.write(Buffer.concat([CLIENT_PREFACE, h2Frame(FrameType.HEADERS, 0x4, 1, headers), h2Frame(FrameType.DATA, 0x1, 1, Buffer.from("{}"))]));
    // The answer's status is HPACK-coded: the call's log line says how it ended.
    await expect.poll(() => gw.logs.entries.find((line) => line.requestId === "two-authorizations-h2" && line.status !== undefined)?.status, { timeout: 5_000 }).toBe("unauthenticated");
  });
});
