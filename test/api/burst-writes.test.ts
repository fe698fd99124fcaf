// A burst of vendor events read at once reaches the client in a write or two,
// not one per event, on every stream surface over HTTP/1.1: each write is an
// HTTP chunk (and a TCP segment, with Nagle off), and a per-event write cost
// the gateway several times the bare proxy's CPU on such a stream. The first
// event still leaves alone, at once (the time to first token).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { openAIChunkEvent } from "../fakes/stream-writing.js";
import { httpChunks, rawExchange } from "../support/http-chunks.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** Events in the vendor's burst. */
const EVENTS = 40;

/** At most: the first event, the rest of the burst, the end (should the vendor's bytes come in two reads, one more). */
const MOST_CHUNKS = 4;

let vendor: FakeServer;
let gw: TestGateway;

beforeAll(async () => {
  vendor = await startFakeServer((req, res) => {
    const model = (req.body as { model: string }).model;
    const events = Array.from({ length: EVENTS }, (_, i) => openAIChunkEvent(`<${i}>`, model)).join("");
    const end = { id: "c1", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: EVENTS, total_tokens: EVENTS + 1 } };
    // The whole answer in one write: the gateway reads it at once.
    res.writeHead(200, { "content-type": "text/event-stream" }).end(`${events}data: ${JSON.stringify(end)}\n\ndata: [DONE]\n\n`);
  });
  gw = await startGateway({ BURST_KEY: "sk-burst" }, { providers: { burst: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:BURST_KEY" } } });
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

/** An HTTP/1.1 POST as raw bytes, its connection closed after the answer. */
function post(path: string, contentType: string, body: Buffer): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${MASTER_KEY}\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** A Connect stream's request: its one message in an envelope. */
function enveloped(message: object): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const frame = Buffer.alloc(5 + json.length);
  frame.writeUInt32BE(json.length, 1);
  json.copy(frame, 5);
  return frame;
}

const json = (body: object) => Buffer.from(JSON.stringify(body));

const SURFACES = [
  { name: "/v1/chat/completions", request: post("/v1/chat/completions", "application/json", json({ model: "burst/m", stream: true, messages: [{ role: "user", content: "hi" }] })), complete: "data: [DONE]" },
  { name: "/v1/messages", request: post("/v1/messages", "application/json", json({ model: "burst/m", stream: true, max_tokens: 1000, messages: [{ role: "user", content: "hi" }] })), complete: "event: message_stop" },
  { name: "/v1/responses", request: post("/v1/responses", "application/json", json({ model: "burst/m", stream: true, store: false, input: "hi" })), complete: "event: response.completed" },
  {
    name: "Connect ChatStream",
    request: post("/switchboard.v1.AIService/ChatStream", "application/connect+json", enveloped({ model: "burst/m", messages: [{ role: "ROLE_USER", content: "hi" }] })),
    complete: '"summary"',
  },
];

describe("a burst of vendor events", () => {
  it.each(SURFACES)("$name: reaches the client whole, in a few writes rather than one per event", async ({ request, complete }) => {
    const chunks = httpChunks(await rawExchange(gw.port, request));
    const answer = chunks.join("");
    expect(answer).toContain(`<${EVENTS - 1}>`);
    expect(answer).toContain(complete);
    expect(chunks.length).toBeLessThanOrEqual(MOST_CHUNKS);
    // The first event went out before the rest of the burst was handled.
    expect(chunks[0]).toContain("<0>");
    expect(chunks[0]).not.toContain("<1>");
  });
});
