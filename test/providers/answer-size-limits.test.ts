// How much of a vendor's answer the gateway reads: a whole (non-streamed) body
// above 32 MiB, or a stream event above 8 MiB, fails the attempt as the
// vendor's bad response, naming the limit, and the rest is not read (the
// vendor's request is cancelled before it has written it all). So does a whole
// body whose JSON holds more objects, arrays or values than the gateway lets
// JSON.parse build (32 MiB of `{},` took 750 MB of heap and 6 s of the event
// loop). Embedding answers get room for their vectors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerResponse } from "node:http";
import { MAX_ANSWER_CONTAINERS, MAX_ANSWER_VALUES } from "../../src/providers/transport/answer-shape.js";
import { MAX_EVENT_CHARS } from "../../src/providers/transport/frame-limit.js";
import { MAX_ANSWER_BYTES } from "../../src/providers/transport/vendor-transport.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { drainedOrClosed, openAIChunkEvent } from "../fakes/stream-writing.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const MIB = 1024 * 1024;

/** Far more than the limits plus what the socket buffers between the vendor and the gateway hold (about 9 MB): had the gateway read on, the vendor would have finished. */
const HOSE_BYTES = MAX_ANSWER_BYTES + 32 * MIB;

/** What the vendor wrote of its answer, and whether the gateway went away before it had finished. */
interface Written {
  bytes: number;
  finished: boolean;
  closed: Promise<void>;
}

let written: Written;

/** Writes `head`, then `total` bytes of `fill` (in 1 MiB pieces, waiting when the socket is full), then `tail`; stops when the gateway goes away. */
async function pour(res: ServerResponse, head: string, fill: string, total: number, tail: string): Promise<void> {
  let close!: () => void;
  written = { bytes: 0, finished: false, closed: new Promise((resolve) => (close = resolve)) };
  res.once("close", () => close());
  res.write(head);
  const piece = fill.repeat(MIB / fill.length);
  while (written.bytes < total && !res.destroyed) {
    written.bytes += piece.length;
    if (!res.write(piece)) await drainedOrClosed(res);
  }
  if (res.destroyed) return;
  written.finished = true;
  res.end(tail);
}


const completionHead = '{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"';
const completionTail = '"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';

let vendor: FakeServer;
let gw: TestGateway;

beforeAll(async () => {
  vendor = await startFakeServer(async (req, res) => {
    const body = req.body as { model: string; input?: string[] };
    switch (body.model) {
      case "huge-body":
        res.writeHead(200, { "content-type": "application/json" });
        return pour(res, completionHead, "A", HOSE_BYTES, completionTail);
      case "huge-declared-body":
        res.writeHead(200, { "content-type": "application/json", "content-length": String(completionHead.length + HOSE_BYTES + completionTail.length) });
        return pour(res, completionHead, "A", HOSE_BYTES, completionTail);
      case "endless-line":
        res.writeHead(200, { "content-type": "text/event-stream" });
        return pour(res, 'data: {"x":"', "B", HOSE_BYTES, '"}\n\n');
      case "endless-event":
        // Lines that end, in one event that never does.
        res.writeHead(200, { "content-type": "text/event-stream" });
        return pour(res, openAIChunkEvent("hi"), `data: ${"C".repeat(1018)}\n`, HOSE_BYTES, "\n");
      case "many-objects":
        // A whole answer that reads well, beside a field of one more empty object than the gateway parses (6 MiB).
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`${completionHead}hi${completionTail.slice(0, -1)},"junk":[${"{},".repeat(MAX_ANSWER_CONTAINERS)}{}]}`);
        return;
      case "many-values": {
        // One embedding, beside more zeros than its answer's values may number (about 16 MiB, within its bytes).
        const zeros = MAX_ANSWER_VALUES + body.input!.length * 4112;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"object":"list","model":"m","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],"junk":[${"0,".repeat(zeros)}0],"usage":{"prompt_tokens":1,"total_tokens":1}}`);
        return;
      }
      case "big-embeddings": {
        // 3,072 dimensions of 17 characters each: 52 KB a vector, 1,000 of them about 52 MB, above MAX_ANSWER_BYTES.
        const vector = `[${Array.from({ length: 3072 }, (_, i) => (i % 2 ? "0.012345678901234" : "-0.98765432101234")).join(",")}]`;
        const data = body.input!.map((_, index) => `{"object":"embedding","index":${index},"embedding":${vector}}`).join(",");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"object":"list","model":"m","data":[${data}],"usage":{"prompt_tokens":1,"total_tokens":1}}`);
        return;
      }
      default:
        throw new Error(`no such model ${body.model}`);
    }
  });
  gw = await startGateway({ BIG_KEY: "sk-big" }, { providers: { big: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:BIG_KEY" } } });
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const chat = (model: string, stream: boolean) => post("/v1/chat/completions", { model: `big/${model}`, stream, messages: [{ role: "user", content: "hi" }] });

describe("a vendor's whole answer", () => {
  it.each(["huge-body", "huge-declared-body"])("%s: above 32 MiB is the vendor's bad response, naming the limit, and the rest is not read", async (model) => {
    const { status, json } = await chat(model, false);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: 'provider "big" answered with a body larger than 32 MiB, the most the gateway reads of one answer' });
    await written.closed;
    expect(written.finished).toBe(false);
  });

  it("of a stream request, answered in one piece, has the same limit", async () => {
    const { status, json } = await post("/v1/chat/completions", { model: "big/huge-declared-body", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(status).toBe(503);
    expect(json.error.message).toContain("larger than 32 MiB");
  });

  it("holding more objects and arrays than the gateway parses is the vendor's bad response, naming the limit", async () => {
    const { status, json } = await chat("many-objects", false);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: `provider "big" answered with more than ${MAX_ANSWER_CONTAINERS} JSON objects and arrays, the most the gateway reads of one answer` });
  });

  it("of embeddings holding more values than its inputs' vectors need is the vendor's bad response, naming the limit", async () => {
    const { status, json } = await post("/v1/embeddings", { model: "big/many-values", input: ["one"] });
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: `provider "big" answered with more than ${MAX_ANSWER_VALUES + 4112} JSON values, the most the gateway reads of one answer` });
  });

  it("of embeddings is allowed room for its vectors beyond 32 MiB", async () => {
    const input = Array.from({ length: 1000 }, (_, i) => `text ${i}`);
    const { status, json } = await post("/v1/embeddings", { model: "big/big-embeddings", input, encoding_format: "base64" });
    expect(status).toBe(200);
    expect(json.data).toHaveLength(1000);
  });
});

describe("a vendor's stream", () => {
  it(`with a line that never ends: past ${MAX_EVENT_CHARS / MIB} MiB it is the vendor's bad response, naming the limit, and the rest is not read`, async () => {
    const { status, json } = await chat("endless-line", true);
    // Nothing had gone out yet: the caller gets a plain error.
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: 'provider "big" sent a stream event larger than 8 MiB, the most the gateway reads of one event' });
    await written.closed;
    expect(written.finished).toBe(false);
  });

  it(`with an event whose data lines never end it: past ${MAX_EVENT_CHARS / MIB} MiB the stream ends with the vendor's bad response as its cause, and the rest is not read`, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "big/endless-event", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text()).trimEnd().split("\n\n");
    // The first event went out; the stream ends with the error (interrupted: it had begun), as OpenAI ends one mid-stream.
    expect(events[0]).toContain('"content":"hi"');
    expect(JSON.parse(events.at(-1)!.replace(/^data: /, ""))).toMatchObject({
      error: { code: "stream_interrupted", message: expect.stringContaining('provider "big" sent a stream event larger than 8 MiB, the most the gateway reads of one event;') },
    });
    await written.closed;
    expect(written.finished).toBe(false);
  });
});
