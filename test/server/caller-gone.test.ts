import { connect, constants } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatStreamRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 30, extraWords: 40 });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

// A caller that goes away mid-stream did not meet a gateway fault: whatever its HTTP/2 stack
// sent (RST_STREAM INTERNAL_ERROR from a crashing client, or no frame at all when its
// connection drops), the call is Canceled in the log and the metrics, never Internal.
describe("a caller that goes away mid-stream", () => {
  it.each(["resets the stream with INTERNAL_ERROR", "drops its connection"])("%s: logged as cancelled, not as a gateway fault", async (how) => {
    const session = connect(gw.url);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/switchboard.v1.AIService/ChatStream",
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${MASTER_KEY}`,
    });
    stream.on("error", () => {});
    const request = create(ChatStreamRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "a long story" }] });
    stream.end(grpcFrame(toBinary(ChatStreamRequestSchema, request)));
    await new Promise((resolve) => stream.once("data", resolve));
    if (how.startsWith("resets")) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    else session.destroy();

    const ended = () => gw.logs.entries.find((line) => line.method?.endsWith("ChatStream") && line.msg === "call failed");
    await expect.poll(ended).toBeDefined();
    expect(ended()).toMatchObject({ level: "warn", status: "canceled", error: expect.stringMatching(/^the client went away/) });
    expect(ended()!.cause).toBeUndefined();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).not.toMatch(/switchboard_requests_total\{[^}]*status="internal"/);
    session.destroy();
    gw.logs.lines.length = 0;
  });
});

// On HTTP/2, a client (or an h2 proxy in front of the gateway) cancels with RST_STREAM, and
// Node then reports the answer as finished: the REST surfaces took that for delivered, and the
// vendor call ran to its end and was billed, logged `ok` (protocol audit M1).
describe("a REST caller over HTTP/2 that resets its stream", () => {
  it.each([
    ["/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }],
    ["/v1/chat/completions", { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/messages", { model: "gpt-4o-mini", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/responses", { model: "gpt-4o-mini", input: "hi" }],
  ])("%s %j: the vendor call is cancelled and the call logged as such", async (path, body) => {
    fake.enqueue({ kind: "hang" });
    const asked = fake.requests.length;
    const abandoned = fake.abandoned.length;
    const session = connect(gw.url);
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` });
    stream.on("error", () => {});
    stream.end(JSON.stringify(body));
    await expect.poll(() => fake.requests.length).toBe(asked + 1);
    stream.close(constants.NGHTTP2_CANCEL);

    await expect.poll(() => fake.abandoned.length).toBe(abandoned + 1);
    const ended = () => gw.logs.entries.find((line) => line.method === `REST POST ${path}` && line.status !== undefined);
    await expect.poll(ended).toBeDefined();
    expect(ended()).toMatchObject({ status: "canceled" });
    session.destroy();
    gw.logs.lines.length = 0;
  });
});
