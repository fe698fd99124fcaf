// A client that stops reading a stream, and sets no deadline: the stream holds a
// vendor connection and its buffers for nobody. Once it has left its answer
// unread for server.answer_stall_timeout_ms, the gateway cuts it off and cancels
// the vendor's request, over HTTP/1.1 (REST) and HTTP/2 (gRPC) alike. Driven by
// events: the test waits for the vendor's request to close, and asserts no time.
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatStreamRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { openAIChunkEvent } from "../fakes/stream-writing.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** A vendor (OpenAI dialect) that streams 16 KiB events for as long as it is read, and says when its request closed unfinished. */
function endlessStream(res: ServerResponse, model: string, cancelled: () => void): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.once("close", cancelled);
  const text = "z".repeat(16 * 1024);
  const more = (): void => {
    while (!res.destroyed) {
      if (!res.write(openAIChunkEvent(text, model))) return void res.once("drain", more);
    }
  };
  more();
}

let vendor: FakeServer;
let gw: TestGateway;
let vendorClosed: Promise<void>;
let closeVendor: () => void;

beforeAll(async () => {
  vendor = await startFakeServer((req, res) => endlessStream(res, (req.body as { model: string }).model, () => closeVendor()));
  gw = await startGateway(
    { ENDLESS_KEY: "sk-endless" },
    {
      server: { answer_stall_timeout_ms: 300 },
      providers: { endless: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:ENDLESS_KEY" } },
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

function expectVendorClosed(): void {
  vendorClosed = new Promise((resolve) => (closeVendor = resolve));
}

/** The log line of a call the gateway cut off for not reading: its cut (as a body too slow is), not the client's cancel. */
const STALL_CUT = { status: "deadline_exceeded", error: expect.stringContaining("answer_stall_timeout_ms") };

const stalls = async (): Promise<number> => Number(/switchboard_slow_clients_total\{waiting_for="answer"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);

describe("a client that stops reading its stream, with no deadline", () => {
  it("REST over HTTP/1.1: cut off, and the vendor's request cancelled", async () => {
    expectVendorClosed();
    const before = await stalls();
    const payload = JSON.stringify({ model: "endless/hose", stream: true, messages: [{ role: "user", content: "everything" }] });
    const req = httpRequest(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
    });
    req.on("error", () => {});
    req.end(payload);
    const [res] = (await once(req, "response")) as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    res.pause(); // and never read again
    res.on("error", () => {});
    await vendorClosed;
    await expect.poll(stalls).toBe(before + 1);
    await expect.poll(() => gw.logs.entries.find((line) => line.method === "REST POST /v1/chat/completions" && line.status !== undefined)).toMatchObject(STALL_CUT);
    res.destroy();
  });

  it("gRPC over HTTP/2: the stream reset, and the vendor's request cancelled", async () => {
    expectVendorClosed();
    const before = await stalls();
    gw.logs.lines.length = 0;
    const session = connect(gw.url);
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": "/switchboard.v1.AIService/ChatStream", "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${MASTER_KEY}` });
    stream.on("error", () => {});
    const message = toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { model: "endless/hose", messages: [{ role: Role.USER, content: "everything" }] }));
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    stream.end(frame);
    await once(stream, "response");
    stream.pause(); // and never read again: HTTP/2's flow control stops the gateway's writes
    await vendorClosed;
    await expect.poll(stalls).toBe(before + 1);
    await expect.poll(() => gw.logs.entries.find((line) => line.method === "switchboard.v1.AIService/ChatStream" && line.status !== undefined)).toMatchObject(STALL_CUT);
    session.destroy();
  });
});
