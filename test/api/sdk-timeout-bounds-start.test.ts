// The official OpenAI and Anthropic SDKs tell the gateway their timeout
// (`x-stainless-timeout`, in whole seconds: Anthropic's on every request,
// OpenAI's when the request sets one), but run it only until the response's
// headers arrive: a streamed body is theirs to read for as long as it lasts.
// The gateway's REST surfaces bound the same wait: a stream that has begun
// outlives the caller's timeout and completes, while a vendor that never
// answers is still cut when it passes. Real time passes (the SDKs send whole
// seconds), but nothing asserts how much: the vendor streams until it is past
// the timeout by its own clock, and the cut is told by its error.
import Anthropic from "@anthropic-ai/sdk";
import type { ServerResponse } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startFakeServer, type FakeServer, type RecordedRequest } from "../fakes/fake-server.js";
import { openAIChunkEvent } from "../fakes/stream-writing.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** The SDKs' timeout in these tests: the shortest they tell (`x-stainless-timeout: 1`). */
const SDK_TIMEOUT_MS = 1_000;
/** The vendor's pace: a healthy token this often, well inside every silence bound. */
const TOKEN_EVERY_MS = 200;
const MODEL = "slow/m";
/** A prompt the vendor never answers: it accepts the request and sends not even its headers. */
const HANG = "hang";

let vendor: FakeServer;
let gw: TestGateway;
/** What the vendor streamed for each prompt, and whether it got to the end. */
const streamed = new Map<string, { text: string; finished: boolean }>();

/**
 * Streams in the OpenAI dialect, a token every TOKEN_EVERY_MS, until it is
 * past the SDK's timeout counted from the request's arrival (which the
 * gateway's deadline precedes), then ends the answer.
 */
async function slowStream(res: ServerResponse, prompt: string): Promise<void> {
  const arrived = Date.now();
  const sent = { text: "", finished: false };
  streamed.set(prompt, sent);
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (let i = 0; !res.destroyed && (i === 0 || Date.now() - arrived <= SDK_TIMEOUT_MS + TOKEN_EVERY_MS); i++) {
    if (i > 0) await sleep(TOKEN_EVERY_MS);
    const token = `t${i} `;
    res.write(openAIChunkEvent(token, "m"));
    sent.text += token;
  }
  if (res.destroyed) return;
  const end = { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 } };
  res.end(`data: ${JSON.stringify(end)}\n\ndata: [DONE]\n\n`);
  sent.finished = true;
}

function promptOf(req: RecordedRequest): string {
  const { messages } = req.body as { messages: { content: unknown }[] };
  const content = messages.at(-1)!.content;
  return typeof content === "string" ? content : JSON.stringify(content);
}

beforeAll(async () => {
  vendor = await startFakeServer(async (req, res) => {
    const prompt = promptOf(req);
    if (prompt.includes(HANG)) return;
    await slowStream(res, prompt);
  });
  gw = await startGateway({ SLOW_KEY: "sk-slow" }, { providers: { slow: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:SLOW_KEY" } } });
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

/** What the vendor sent for `prompt`, having finished it. */
function finishedStream(prompt: string): string {
  const sent = streamed.get(prompt);
  expect(sent).toMatchObject({ finished: true });
  // Streamed past the timeout: more than the first token went out, the rest after the deadline.
  expect(sent!.text.split(" ").length).toBeGreaterThan(2);
  return sent!.text;
}

describe("the SDKs with a short timeout, against a vendor that streams for longer", () => {
  // OpenAI's SDK sends the header only for a request's own timeout (a client's it keeps to itself).
  const openai = (): OpenAI => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
  const timeout = { timeout: SDK_TIMEOUT_MS };
  const anthropic = (): Anthropic => new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, timeout: SDK_TIMEOUT_MS });

  it("OpenAI Chat Completions: the stream runs past the timeout to its end", async () => {
    const prompt = "chat stream";
    let text = "";
    for await (const chunk of await openai().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: prompt }], stream: true }, timeout)) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(finishedStream(prompt));
  });

  it("OpenAI Responses: the stream runs past the timeout to response.completed", async () => {
    const prompt = "responses stream";
    const stream = openai().responses.stream({ model: MODEL, input: prompt, store: false }, timeout);
    let text = "";
    stream.on("response.output_text.delta", (event) => (text += event.delta));
    expect((await stream.finalResponse()).status).toBe("completed");
    expect(text).toBe(finishedStream(prompt));
  });

  it("Anthropic Messages: the stream runs past the timeout to message_stop", async () => {
    const prompt = "messages stream";
    const final = await anthropic().messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: prompt }] }).finalMessage();
    expect(final.stop_reason).toBe("end_turn");
    expect(final.content).toEqual([{ type: "text", text: finishedStream(prompt) }]);
  });
});

describe("a vendor that never sends its headers is still cut when the caller's timeout passes", () => {
  // The SDK's own timer would end its wait at the same moment: here it waits longer than the timeout it tells the
  // gateway, so that only the gateway's cut can end the call. No retry: the SDK would retry a 504.
  const told = { headers: { "x-stainless-timeout": String(SDK_TIMEOUT_MS / 1000) }, maxRetries: 0 };
  const openai = (): OpenAI => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
  const anthropic = (): Anthropic => new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY });

  const cases: { name: string; call: (prompt: string) => Promise<unknown> }[] = [
    { name: "OpenAI Chat Completions, streamed", call: async (prompt) => openai().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: prompt }], stream: true }, told) },
    { name: "OpenAI Chat Completions, unary", call: (prompt) => openai().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: prompt }] }, told) },
    { name: "OpenAI Responses, streamed", call: (prompt) => openai().responses.create({ model: MODEL, input: prompt, store: false, stream: true }, told) },
    { name: "Anthropic Messages, streamed", call: (prompt) => anthropic().messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: prompt }], stream: true }, told) },
    { name: "Anthropic Messages, unary", call: (prompt) => anthropic().messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: prompt }] }, told) },
  ];

  it.each(cases)("$name: the caller gets the deadline's 504, and every request to the vendor is cancelled", async ({ name, call }) => {
    const prompt = `${HANG} ${name}`;
    const failure = await call(prompt).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ status: 504, message: expect.stringContaining("deadline") });
    const sent = vendor.requests.filter((req) => promptOf(req) === prompt);
    expect(sent.length).toBeGreaterThan(0);
    await expect.poll(() => vendor.abandoned.filter((req) => promptOf(req) === prompt).length).toBe(sent.length);
  });
});
