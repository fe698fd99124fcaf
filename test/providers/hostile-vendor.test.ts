// A broken or hostile vendor (or a man in the middle on an http:// base URL),
// through the gateway: fields of the wrong JSON type, JSON nested too deep to
// write again, embeddings that do not answer every input once with finite
// numbers, a redirect with an answer in its body, and an error inside an
// HTTP 200. Each is the vendor's fault, told as such (bad_response, or the
// error's own kind), never passed on to callers and never an Internal error.
import type { ServerResponse } from "node:http";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { drain } from "../support/streams.js";

const OPENAI_KEY = "sk-hostile-upstream-secret-0123456789";

function sse(res: ServerResponse, events: unknown[]): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const event of events) res.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`);
  res.end();
}

function json(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const chunk = (delta: unknown, finish: string | null = null) => ({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
const toolDelta = (fragment: Record<string, unknown>) => chunk({ tool_calls: [{ type: "function", ...fragment }] });
const completion = { id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };

/** The OpenAI-dialect streams, by model: one bad field each, then a proper end. */
const OPENAI_STREAMS: Record<string, unknown[]> = {
  "content-number": [chunk({ role: "assistant", content: 12345 })],
  "reasoning-object": [chunk({ reasoning_content: { text: "x" } })],
  "tool-id-number": [toolDelta({ index: 0, id: 5, function: { name: "f", arguments: "" } })],
  "tool-name-array": [toolDelta({ index: 0, id: "call_1", function: { name: ["x"], arguments: "" } })],
  "tool-arguments-object": [toolDelta({ index: 0, id: "call_1", function: { name: "f", arguments: { a: 1 } } })],
  "tool-index-huge": [toolDelta({ index: 1e9, id: "call_1", function: { name: "f", arguments: "" } })],
  "tool-index-negative": [toolDelta({ index: -1, id: "call_1", function: { name: "f", arguments: "" } })],
  "tool-index-fraction": [toolDelta({ index: 0.5, id: "call_1", function: { name: "f", arguments: "" } })],
  "tool-index-string": [toolDelta({ index: "0", id: "call_1", function: { name: "f", arguments: "" } })],
};

const vector = (n: number, value = 0.25) => Array.from({ length: n }, () => value);
const embeddingList = (data: unknown[]) => ({ object: "list", model: "m", data, usage: { prompt_tokens: 2, total_tokens: 2 } });

/** Embedding answers for two inputs, by model. */
const EMBEDDINGS: Record<string, unknown> = {
  "emb-repeated-index": embeddingList([
    { object: "embedding", index: 1, embedding: vector(3) },
    { object: "embedding", index: 1, embedding: vector(3) },
  ]),
  "emb-missing-index": embeddingList([{ object: "embedding", index: 1, embedding: vector(3) }]),
  "emb-index-out-of-range": embeddingList([
    { object: "embedding", index: 0, embedding: vector(3) },
    { object: "embedding", index: 2, embedding: vector(3) },
  ]),
  "emb-strings": embeddingList([
    { object: "embedding", index: 0, embedding: ["0.1", "0.2", "0.3"] },
    { object: "embedding", index: 1, embedding: ["0.1", "0.2", "0.3"] },
  ]),
  // 1e400 parses as Infinity, which JSON writes as null.
  "emb-infinite": `{"object":"list","model":"m","data":[{"index":0,"embedding":[0.1,1e400,0.3]},{"index":1,"embedding":[0.1,0.2,0.3]}],"usage":{"prompt_tokens":2,"total_tokens":2}}`,
  "emb-ragged": embeddingList([
    { object: "embedding", index: 0, embedding: vector(3) },
    { object: "embedding", index: 1, embedding: vector(2) },
  ]),
  "emb-fine": embeddingList([
    { object: "embedding", index: 1, embedding: vector(3, 0.5) },
    { object: "embedding", index: 0, embedding: vector(3) },
  ]),
};

/** Anthropic streams, by model: a proper start and end around one bad block. */
function anthropicStream(model: string): unknown[] {
  const start = { type: "message_start", message: { id: "msg_1", usage: { input_tokens: 1, output_tokens: 0 } } };
  const end = [{ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1 } }, { type: "message_stop" }];
  switch (model) {
    case "claude-text-number":
      return [start, { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: 5 } }, ...end];
    case "claude-tool-id-number":
      return [start, { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: 5, name: "f", input: {} } }, ...end];
    case "claude-partial-json-number":
      return [
        start,
        { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} } },
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: 7 } },
        ...end,
      ];
    default:
      throw new Error(`no such model ${model}`);
  }
}

/** Arguments nested 20,000 deep: JSON.parse takes them, JSON.stringify runs out of stack. */
const DEEP_ARGS = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;

function geminiAnswer(model: string): string {
  const answer = (part: string) => `{"candidates":[{"content":{"role":"model","parts":[${part}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}`;
  switch (model) {
    case "gemini-name-array":
      return answer(`{"functionCall":{"name":["x"],"args":{}}}`);
    case "gemini-text-number":
      return answer(`{"text":42}`);
    case "gemini-deep-args":
      return answer(`{"functionCall":{"name":"f","args":${DEEP_ARGS}}}`);
    default:
      throw new Error(`no such model ${model}`);
  }
}

let vendor: FakeServer;
let gw: TestGateway;

beforeAll(async () => {
  vendor = await startFakeServer(async (req, res) => {
    const body = req.body as { model?: string; stream?: boolean };
    if (req.path === "/v1/chat/completions") {
      const model = body.model!;
      if (model === "redirect") return json(res, completion, 302, { location: "https://elsewhere.example/v1/chat/completions" });
      if (model === "quota-in-200") {
        return json(res, { error: { message: `You exceeded your current quota (key ${OPENAI_KEY}), please check your plan.`, type: "insufficient_quota", code: "insufficient_quota" } });
      }
      const events = OPENAI_STREAMS[model];
      if (!events) throw new Error(`no such model ${model}`);
      return sse(res, [...events, chunk({}, "stop"), "[DONE]"]);
    }
    if (req.path === "/v1/embeddings") return json(res, EMBEDDINGS[body.model!]);
    if (req.path === "/v1/messages") return sse(res, anthropicStream(body.model!));
    const gemini = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)/.exec(req.path);
    if (gemini) {
      const answer = geminiAnswer(decodeURIComponent(gemini[1]!));
      if (gemini[2] === "generateContent") return json(res, answer);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${answer}\n\n`);
      return;
    }
    throw new Error(`no such path ${req.path}`);
  });
  gw = await startGateway(
    { EVIL_OPENAI_KEY: OPENAI_KEY, EVIL_ANTHROPIC_KEY: "sk-ant-hostile-0123456789", EVIL_GEMINI_KEY: "AIzaHostile0123456789" },
    {
      providers: {
        evil: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:EVIL_OPENAI_KEY" },
        evila: { dialect: "anthropic", base_url: vendor.origin, api_key: "env:EVIL_ANTHROPIC_KEY" },
        evilg: { dialect: "gemini", base_url: `${vendor.origin}/v1beta`, api_key: "env:EVIL_GEMINI_KEY" },
      },
      // One attempt a call, and no breaker: every test's vendor fails on purpose.
      traffic: { retry: { max_attempts: 1 }, breaker: { enabled: false } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, json: parsed, text };
}

const chat = (model: string, stream: boolean) => post("/v1/chat/completions", { model, stream, messages: [{ role: "user", content: "hi" }] });

describe("a stream field of the wrong JSON type", () => {
  it.each([
    ["content-number", "choices[0].delta.content that is not a string"],
    ["reasoning-object", "choices[0].delta.reasoning_content that is not a string"],
    ["tool-id-number", "choices[0].delta.tool_calls[0].id that is not a string"],
    ["tool-name-array", "choices[0].delta.tool_calls[0].function.name that is not a string"],
    ["tool-arguments-object", "choices[0].delta.tool_calls[0].function.arguments that is not a string"],
    ["tool-index-huge", "choices[0].delta.tool_calls[0].index that is not a tool call position from 0 to 127"],
    ["tool-index-negative", "choices[0].delta.tool_calls[0].index that is not a tool call position from 0 to 127"],
    ["tool-index-fraction", "choices[0].delta.tool_calls[0].index that is not a tool call position from 0 to 127"],
    ["tool-index-string", "choices[0].delta.tool_calls[0].index that is not a tool call position from 0 to 127"],
  ])("OpenAI %s: the vendor's bad response on REST, naming the field, nothing passed on", async (model, problem) => {
    const { status, json, text } = await chat(`evil/${model}`, true);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: `provider "evil" sent ${problem}` });
    expect(text).not.toContain("12345");
  });

  it.each(["connect", "grpc"] as const)("OpenAI tool call id 5 over %s: Unavailable (bad_response), not Internal", async (protocol) => {
    const err = await failure(drain(gw.client(protocol).chatStream({ model: "evil/tool-id-number", messages: [{ role: Role.USER, content: "hi" }] })));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_BAD_RESPONSE");
    expect(err.rawMessage).toContain("tool_calls[0].id that is not a string");
  });

  it.each([
    ["claude-text-number", "delta.text that is not a string"],
    ["claude-tool-id-number", "content_block.id that is not a string"],
  ])("Anthropic %s: the vendor's bad response, naming the field", async (model, problem) => {
    const { status, json } = await chat(`evila/${model}`, true);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: `provider "evila" sent ${problem}` });
  });

  it("Anthropic partial_json 7 after the call began: the stream ends with the vendor's bad response, the 7 never passed on", async () => {
    const { status, text } = await chat("evila/claude-partial-json-number", true);
    // The tool call's start had gone out: the stream ends with the error, as OpenAI ends one mid-stream.
    expect(status).toBe(200);
    const events = text.trimEnd().split("\n\n").map((event) => event.replace(/^data: /, ""));
    expect(JSON.parse(events.at(-1)!)).toMatchObject({
      error: { code: "stream_interrupted", message: expect.stringContaining('provider "evila" sent delta.partial_json that is not a string') },
    });
    expect(text).not.toContain('"arguments":7');
  });

  it.each([true, false])("Gemini functionCall.name [\"x\"] (stream %s): the vendor's bad response, never a name that is no string", async (stream) => {
    const { status, json, text } = await chat("evilg/gemini-name-array", stream);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: 'provider "evilg" sent candidates[0].content.parts[0].functionCall.name that is not a string' });
    expect(text).not.toContain('["x"]');
  });

  it.each([true, false])("Gemini text 42 (stream %s): the vendor's bad response, not a part left out", async (stream) => {
    const { status, json } = await chat("evilg/gemini-text-number", stream);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: 'provider "evilg" sent candidates[0].content.parts[0].text that is not a string' });
  });
});

describe("a codec that throws on a vendor's answer", () => {
  it.each([true, false])("Gemini functionCall.args nested 20,000 deep (stream %s): the vendor's bad response, not Internal, not unreachable", async (stream) => {
    const { status, json } = await chat("evilg/gemini-deep-args", stream);
    expect(status).toBe(503);
    // Streamed, the event is refused before it is parsed: nesting that deep is far denser in objects than any real event.
    const message = stream ? /^provider "evilg" sent a stream event of \d+ characters holding more JSON objects and arrays than one per 16 characters/ : 'provider "evilg" sent an answer the gateway cannot read (RangeError)';
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message });
  });

  it("over Connect, the same: Unavailable with UPSTREAM_BAD_RESPONSE", async () => {
    const err = await failure(gw.client("connect").chat({ model: "evilg/gemini-deep-args", messages: [{ role: Role.USER, content: "hi" }] }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_BAD_RESPONSE");
  });
});

describe("an embedding answer", () => {
  const embed = (model: string, extra: Record<string, unknown> = {}) => post("/v1/embeddings", { model: `evil/${model}`, input: ["a", "b"], ...extra });

  it.each([
    ["emb-repeated-index", "answered with two embeddings for input 1"],
    ["emb-missing-index", "answered with 1 embeddings for 2 inputs"],
    ["emb-index-out-of-range", "answered with data[1].index that is not the position of an input (0 to 1)"],
    ["emb-strings", "answered with an embedding for input 0 that holds something other than finite numbers"],
    ["emb-infinite", "answered with an embedding for input 0 that holds something other than finite numbers"],
    ["emb-ragged", "answered with an embedding of 2 dimensions for input 1, not the 3 of the first"],
  ])("%s: the vendor's bad response, no hole, no null, no string", async (model, problem) => {
    const { status, json } = await embed(model);
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: `provider "evil" ${problem}` });
  });

  it("of another length than the dimensions asked for: the vendor's bad response", async () => {
    const { status, json } = await embed("emb-fine", { dimensions: 4 });
    expect(status).toBe(503);
    expect(json.error).toMatchObject({ code: "upstream_bad_response", message: 'provider "evil" answered with an embedding of 3 dimensions for input 0, not the 4 dimensions asked for' });
  });

  it("that is whole (out of order, every index once) is answered in input order", async () => {
    const { status, json } = await embed("emb-fine", { dimensions: 3 });
    expect(status).toBe(200);
    expect(json.data.map((item: any) => item.embedding)).toEqual([vector(3), vector(3, 0.5)]);
  });

  it("over gRPC, a repeated index is Unavailable, not an empty vector", async () => {
    const err = await failure(gw.client("grpc").embed({ model: "evil/emb-repeated-index", inputs: ["a", "b"] }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_BAD_RESPONSE");
  });
});

describe("a redirect", () => {
  it.each([false, true])("with an answer in its body (stream %s) is no answer: the vendor's bad response, saying it redirected, not followed", async (stream) => {
    const before = vendor.requests.length;
    const { status, json } = await chat("evil/redirect", stream);
    expect(status).toBe(503);
    expect(json.error.code).toBe("upstream_bad_response");
    expect(json.error.message).toContain('provider "evil": the vendor redirected the request (HTTP 302)');
    expect(json.error.message).not.toContain("elsewhere.example");
    // One request, to the configured vendor: the redirect was not followed.
    expect(vendor.requests.length).toBe(before + 1);
  });
});

describe("an error inside an HTTP 200", () => {
  it.each([false, true])("insufficient_quota (stream %s) is the quota exhausted, with the vendor's words, redacted", async (stream) => {
    const { status, json } = await chat("evil/quota-in-200", stream);
    expect(status).toBe(429);
    expect(json.error.code).toBe("upstream_quota_exhausted");
    expect(json.error.message).toContain('provider "evil" quota exhausted: You exceeded your current quota');
    expect(json.error.message).not.toContain(OPENAI_KEY);
  });

  it("over Connect, ResourceExhausted with UPSTREAM_QUOTA_EXHAUSTED", async () => {
    const err = await failure(gw.client("connect").chat({ model: "evil/quota-in-200", messages: [{ role: Role.USER, content: "hi" }] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_QUOTA_EXHAUSTED");
  });
});
