// REST streams and a client slower than its vendor: the gateway reads from the
// vendor only as fast as the client takes the stream, so a client that stops
// reading stops the vendor (its writes block) instead of growing the gateway's
// memory; a client that never reads is cut off once it has left the answer
// unread for server.answer_stall_timeout_ms (its SDK's timeout bounds only the
// wait for the answer to begin), and the vendor's request with it. Driven by
// events, not by time: the vendor checks,
// at every write, how far ahead of the client it has got.
import { EventEmitter, once } from "node:events";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_STREAMED_ANSWER_CHARS } from "../../src/providers/answer-limits.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { drainedOrClosed, openAIChunkEvent } from "../fakes/stream-writing.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** Characters of text in each streamed chunk: big events, so that a few hundred fill every buffer on the way. */
const CHUNK_CHARS = 16 * 1024;

/**
 * How far the vendor may get ahead of what the client has read, in bytes.
 * With backpressure, the gap is what the buffers between them hold: the
 * kernel's socket buffers on both sides of the gateway (about 9 MB on
 * loopback here) and an event or two in each stream. Without it, the gap is
 * all the vendor has written.
 */
const MAX_LEAD_BYTES = 24 * 1024 * 1024;

/** A firehose longer than the lead allowed: 2,048 chunks of 16 KiB, 32 MiB. */
const FIREHOSE_CHUNKS = 2048;

/** How long a client may leave its answer unread: ample for a reader that resumes as soon as the vendor blocks. */
const ANSWER_STALL_MS = 3_000;

/** A firehose that the Responses API (which keeps the whole answer) takes whole: just under MAX_STREAMED_ANSWER_CHARS. */
const KEPT_CHUNKS = Math.floor(MAX_STREAMED_ANSWER_CHARS / (CHUNK_CHARS + 8)) - 1;

/** A firehose vendor in the OpenAI dialect: writes as fast as its socket takes it, and keeps count. */
class Firehose extends EventEmitter {
  /** Bytes written to the gateway so far. */
  written = 0;
  /** Bytes the test's client has read so far (the client counts them here). */
  read = 0;
  /** The largest lead the vendor had over the client, in bytes. */
  lead = 0;
  finished = false;
  /** The gateway went away before the vendor had finished. */
  cancelled = false;
  /** Settles when the vendor's response has closed, finished or not. */
  readonly closed: Promise<void>;
  private close!: () => void;

  constructor(readonly chunks: number) {
    super();
    this.closed = new Promise((resolve) => (this.close = resolve));
  }

  async serve(res: ServerResponse, model: string): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.once("close", () => {
      if (!this.finished) this.cancelled = true;
      this.close();
    });
    const text = "z".repeat(CHUNK_CHARS);
    for (let i = 0; i < this.chunks && !res.destroyed; i++) {
      const event = openAIChunkEvent(`<${i}>${text}`, model);
      this.written += event.length;
      this.lead = Math.max(this.lead, this.written - this.read);
      // What fails without backpressure: said at once, rather than after the whole firehose.
      if (this.lead > MAX_LEAD_BYTES) this.emit("runaway");
      if (!res.write(event)) {
        this.emit("blocked");
        await drainedOrClosed(res);
        this.emit("flowing");
      }
    }
    if (res.destroyed) return;
    this.finished = true;
    const end = { id: "c1", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    res.end(`data: ${JSON.stringify(end)}\n\ndata: [DONE]\n\n`);
    this.emit("finished");
  }
}

let vendor: FakeServer;
let gw: TestGateway;
let firehose: Firehose;

beforeAll(async () => {
  vendor = await startFakeServer(async (req, res) => {
    await firehose.serve(res, (req.body as { model: string }).model);
  });
  gw = await startGateway(
    { FIREHOSE_KEY: "sk-firehose" },
    {
      server: { answer_stall_timeout_ms: ANSWER_STALL_MS },
      providers: { firehose: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:FIREHOSE_KEY" } },
      // The same vendor with every answer cached: the gateway keeps the whole text for the cache.
      routes: [{ model: "cached-hose", provider: "firehose", upstream_model: "hose", cache: { mode: "always" } }],
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

interface Surface {
  path: string;
  body: Record<string, unknown>;
  /** How the surface says the answer is complete. */
  complete: string;
  /** Chunks the firehose sends on it: the Responses API keeps the whole answer, so it gets less than the bound of what is kept. */
  chunks: number;
}

const SURFACES: Surface[] = [
  { path: "/v1/chat/completions", body: { stream: true, messages: [{ role: "user", content: "everything" }] }, complete: "data: [DONE]", chunks: FIREHOSE_CHUNKS },
  // max_tokens room for the whole firehose (a stream is cut past 32 characters a token of it).
  { path: "/v1/messages", body: { stream: true, max_tokens: 2_000_000, messages: [{ role: "user", content: "everything" }] }, complete: "event: message_stop", chunks: FIREHOSE_CHUNKS },
  { path: "/v1/responses", body: { stream: true, store: false, input: "everything" }, complete: "event: response.completed", chunks: KEPT_CHUNKS },
];

/** Answers the gateway has cut off because their clients left them unread. */
const answerStalls = async (): Promise<number> => Number(/switchboard_slow_clients_total\{waiting_for="answer"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);

/** Sends a streamed call and hands back its response unread (paused): the test decides when the client reads. */
async function openStream(path: string, body: unknown, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  const payload = JSON.stringify(body);
  const req = httpRequest(`${gw.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers },
  });
  req.on("error", () => {});
  req.end(payload);
  const [res] = (await once(req, "response")) as [IncomingMessage];
  expect(res.statusCode).toBe(200);
  return res;
}

/** The client's side of a stream: what it reads counts on the vendor's ledger; the text is kept, and how the stream ended. */
function client(res: IncomingMessage): { text: () => string; ended: Promise<"ended" | "cut"> } {
  const parts: Buffer[] = [];
  res.on("data", (chunk: Buffer) => {
    firehose.read += chunk.length;
    parts.push(chunk);
  });
  const ended = new Promise<"ended" | "cut">((resolve) => {
    res.once("end", () => resolve("ended"));
    res.once("error", () => resolve("cut"));
    res.once("aborted", () => resolve("cut"));
  });
  return { text: () => Buffer.concat(parts).toString("utf8"), ended };
}

describe("a REST stream whose client reads slower than its vendor writes", () => {
  it.each(SURFACES)("$path: the vendor is held to the client's pace, and the client still gets the whole answer", async ({ path, body, complete, chunks }) => {
    firehose = new Firehose(chunks);
    const res = await openStream(path, { ...body, model: "firehose/hose" });
    const reading = client(res);
    res.pause();
    // The client reads only while the vendor is blocked, and stops as soon as the vendor may write again: the vendor
    // gets ahead only by what the buffers between them hold. Without backpressure the gateway goes on reading from
    // the vendor while the client is stopped, and the vendor's lead grows with everything it writes.
    firehose.on("blocked", () => res.resume());
    firehose.on("flowing", () => res.pause());
    firehose.on("finished", () => res.resume());
    firehose.on("runaway", () => res.resume());
    expect(await reading.ended).toBe("ended");
    expect(firehose.lead).toBeLessThanOrEqual(MAX_LEAD_BYTES);
    expect(firehose.finished).toBe(true);
    const text = reading.text();
    expect(text).toContain(`<${chunks - 1}>`);
    expect(text).toContain(complete);
  });

  it.each(SURFACES)("$path: a client that never reads stops the vendor; the answer-stall bound, not its SDK's timeout, cuts it off and cancels the vendor's request", async ({ path, body, complete }) => {
    firehose = new Firehose(FIREHOSE_CHUNKS);
    const before = await answerStalls();
    // The SDK's timeout passes long before the stall bound, but the answer has begun: it is not what ends the call.
    const res = await openStream(path, { ...body, model: "firehose/hose" }, { "x-stainless-timeout": "1" });
    // The client reads nothing. Either the vendor runs away (no backpressure: the gateway buffers it all), or it is
    // stopped until the stall bound ends the call, and the gateway's request to it with it.
    await Promise.race([firehose.closed, once(firehose, "runaway")]);
    expect(firehose.lead).toBeLessThanOrEqual(MAX_LEAD_BYTES);
    await firehose.closed;
    expect(firehose.cancelled).toBe(true);
    // What the client had not read is all there is: the stream was cut off, never completed.
    const reading = client(res);
    res.resume();
    await reading.ended;
    expect(reading.text()).not.toContain(complete);
    await expect.poll(answerStalls).toBe(before + 1);
    // Ended by the stall bound (deadline_exceeded, SLOW_CLIENT, naming it), never by the SDK's deadline.
    const ends = gw.logs.entries.filter((line) => line.method === `REST POST ${path}` && line.status === "deadline_exceeded");
    expect(ends.map((line) => String(line.error))).toEqual([expect.stringContaining("answer_stall_timeout_ms")]);
  });
});

describe("what the gateway keeps of a streamed answer", () => {
  it(`is bounded when the cache keeps it: past ${MAX_STREAMED_ANSWER_CHARS} characters the stream fails as the vendor's bad response, and the vendor's request is cancelled`, async () => {
    firehose = new Firehose(FIREHOSE_CHUNKS);
    const res = await openStream("/v1/chat/completions", { model: "cached-hose", stream: true, temperature: 0, messages: [{ role: "user", content: "everything" }] });
    const reading = client(res);
    expect(await reading.ended).toBe("ended");
    const last = reading.text().trimEnd().split("\n\n").at(-1)!;
    expect(JSON.parse(last.replace(/^data: /, ""))).toMatchObject({
      error: { code: "upstream_bad_response", message: expect.stringContaining(`streamed an answer longer than ${MAX_STREAMED_ANSWER_CHARS} characters`) },
    });
    await firehose.closed;
    expect(firehose.cancelled).toBe(true);
  });

  it("is bounded on the Responses API, which repeats the whole answer at its end", async () => {
    firehose = new Firehose(FIREHOSE_CHUNKS);
    const res = await openStream("/v1/responses", { model: "firehose/hose", stream: true, store: false, input: "everything" });
    const reading = client(res);
    expect(await reading.ended).toBe("ended");
    const text = reading.text();
    expect(text).not.toContain("event: response.completed");
    expect(text).toContain("event: response.failed");
    expect(text).toContain(`streamed an answer longer than ${MAX_STREAMED_ANSWER_CHARS} characters`);
    await firehose.closed;
    expect(firehose.cancelled).toBe(true);
  });
});
