import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { failureRecordedIn } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { cancelAtDelta } from "../support/streams.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";

let fake: DashScopeFake;
let gw: TestGateway;
const seenErrors: string[] = [];

beforeAll(async () => {
  fake = await startDashScopeFake({ apiKey: API_KEY });
  // Only these two variables: the must-show zero-config path.
  // One attempt per call, so a scripted vendor error reaches the caller (retries: test/gateway).
  // Scripted 429s and rejections must not bench the one key for the tests after them (test/secrets covers key pools).
  gw = await startGateway({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }, { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const hello = { model: "qwen-plus", messages: [{ role: Role.USER, content: "hello there" }] };

const failure = failureRecordedIn(seenErrors);

async function streamText(request: Parameters<ReturnType<TestGateway["client"]>["chatStream"]>[0], client = gw.client()) {
  let text = "";
  const deltas: string[] = [];
  const summaries = [];
  let toolFragments = 0;
  for await (const event of client.chatStream(request)) {
    if (event.event.case === "delta") {
      text += event.event.value.content;
      if (event.event.value.content) deltas.push(event.event.value.content);
      toolFragments += event.event.value.toolCalls.length;
    }
    if (event.event.case === "summary") summaries.push(event.event.value);
  }
  return { text, deltas, summaries, toolFragments };
}

describe("DashScope native through the gateway", () => {
  it.each(["connect", "grpc"] as const)("answers qwen-* over %s with only DASHSCOPE_API_KEY/BASE_URL set", async (protocol) => {
    const res = await gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("dashscope");
    expect(res.model).toBe("qwen-plus");
    expect(res.id).not.toBe("");
    expect(res.usage).toMatchObject({ completionTokens: 3 });
    expect(res.usage!.totalTokens).toBe(res.usage!.promptTokens + 3);
    const wire = fake.generationRequests().at(-1)!;
    expect(wire.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(wire.headers["x-dashscope-sse"]).toBeUndefined();
  });

  it("streams increments equal to the unary text, then one summary with the last cumulative usage", async () => {
    const unary = await gw.client().chat(hello);
    const { text, deltas, summaries } = await streamText(hello);
    expect(text).toBe(unary.message!.content);
    expect(deltas.length).toBeGreaterThan(2);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.usage).toMatchObject({ promptTokens: unary.usage!.promptTokens, completionTokens: 3 });
    expect(summaries[0]!.usageEstimated).toBe(false);
    const wire = fake.generationRequests().at(-1)!;
    expect(wire.headers["x-dashscope-sse"]).toBe("enable");
    expect(wire.body.parameters.incremental_output).toBe(true);
  });

  it("takes every chunk as new text, as incremental_output says: an answer that repeats itself (ha, ha, ha!) streams whole", async () => {
    fake.options.answerPieces = ["ha", "ha", "ha!"];
    try {
      const unary = await gw.client().chat(hello);
      expect(unary.message!.content).toBe("hahaha!");
      const { text, deltas } = await streamText(hello);
      expect(deltas).toEqual(["ha", "ha", "ha!"]);
      expect(text).toBe("hahaha!");
    } finally {
      fake.options.answerPieces = undefined;
    }
  });

  it("puts messages in `input` and settings in `parameters`, clamped to DashScope's ranges, and says so", async () => {
    const res = await gw.client().chat({
      model: "qwen-max",
      messages: [
        { role: Role.SYSTEM, content: "be brief" },
        { role: Role.USER, content: "weather in Paris?" },
      ],
      temperature: 2,
      topP: 1,
      maxTokens: 50,
      stop: ["END"],
      seed: 42n,
      presencePenalty: 0.5,
      vendorOptions: { enable_search: true, result_format: "text" },
    });
    const wire = fake.generationRequests().at(-1)!.body;
    expect(wire).toEqual({
      model: "qwen-max",
      input: {
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "weather in Paris?" },
        ],
      },
      parameters: {
        enable_search: true,
        result_format: "message",
        temperature: 1.99,
        top_p: 0.9999,
        max_tokens: 50,
        stop: ["END"],
        seed: 42,
        presence_penalty: 0.5,
      },
    });
    expect(res.adjustments.map((a) => `${a.parameter} ${a.requested}->${a.sent}`)).toEqual(["temperature 2.0->1.99", "top_p 1.0->0.9999"]);
  });

  it("round-trips a tool call, unary and streamed", async () => {
    const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];
    const first = await gw.client("grpc").chat({ ...hello, messages: [{ role: Role.USER, content: "Paris" }], tools, toolChoice: { choice: { case: "mode", value: ToolChoiceMode.AUTO } } });
    expect(first.finishReason).toBe(FinishReason.TOOL_CALLS);
    const call = first.message!.toolCalls[0]!;
    expect(call.id).toMatch(/^call_/);
    expect(call.name).toBe("get_weather");
    expect(JSON.parse(call.arguments)).toEqual({ query: "Paris" });
    expect(fake.generationRequests().at(-1)!.body.parameters).toMatchObject({ tool_choice: "auto", tools: [{ type: "function", function: tools[0] }] });

    const second = await gw.client("grpc").chat({
      ...hello,
      tools,
      messages: [{ role: Role.USER, content: "Paris" }, first.message!, { role: Role.TOOL, toolCallId: call.id, content: "sunny, 21C" }],
    });
    expect(second.message?.content).toBe("Tool result: sunny, 21C");
    const wire = fake.generationRequests().at(-1)!.body.input.messages;
    expect(wire[1]).toEqual({ role: "assistant", content: "", tool_calls: [{ id: call.id, type: "function", function: { name: "get_weather", arguments: call.arguments } }] });
    expect(wire[2]).toEqual({ role: "tool", content: "sunny, 21C", tool_call_id: call.id });

    const streamed = await streamText({ ...hello, messages: [{ role: Role.USER, content: "Rome" }], tools });
    expect(streamed.toolFragments).toBeGreaterThan(2);
    expect(streamed.summaries[0]!.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(streamed.summaries[0]!.toolCalls).toHaveLength(1);
    expect(streamed.summaries[0]!.toolCalls[0]!.name).toBe("get_weather");
    expect(JSON.parse(streamed.summaries[0]!.toolCalls[0]!.arguments)).toEqual({ query: "Rome" });
  });

  it("passes JSON mode through, and the vendor's refusal without the word json as InvalidArgument", async () => {
    const res = await gw.client().chat({ ...hello, messages: [{ role: Role.USER, content: "answer in JSON please" }], responseFormat: { type: ResponseFormatType.JSON_OBJECT } });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: answer in JSON please" });
    expect(fake.generationRequests().at(-1)!.body.parameters.response_format).toEqual({ type: "json_object" });

    const err = await failure(gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_OBJECT } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("'messages' must contain the word 'json' in some form");
    expect(err.rawMessage).toContain("InvalidParameter");
  });

  it("maps a cut answer to LENGTH", async () => {
    const res = await gw.client().chat({ ...hello, maxTokens: 1 });
    expect(res.finishReason).toBe(FinishReason.LENGTH);
    expect(res.message?.content).toBe("Echo:");
  });

  it("turns an unknown model into NotFound", async () => {
    const err = await failure(gw.client().chat({ ...hello, model: "qwen-nonexistent" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("Model not exist.");
  });
});

describe("DashScope errors", () => {
  it.each([
    [429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", Code.ResourceExhausted, "UPSTREAM_RATE_LIMITED"],
    [429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", Code.ResourceExhausted, "UPSTREAM_QUOTA_EXHAUSTED"],
    [400, "Arrearage", "Access denied, please make sure your account is in good standing.", Code.ResourceExhausted, "UPSTREAM_QUOTA_EXHAUSTED"],
    [400, "DataInspectionFailed", "Input data may contain inappropriate content.", Code.InvalidArgument, "CONTENT_FILTERED"],
    [500, "InternalError", "An internal error has occured, please try again later.", Code.Unavailable, "UPSTREAM_OVERLOADED"],
    [503, "ServiceUnavailable", "Service is busy.", Code.Unavailable, "UPSTREAM_OVERLOADED"],
    // The model the caller named is not enabled for the account: the caller's to fix, the key stays in rotation.
    [403, "AccessDenied", "Access denied.", Code.InvalidArgument, "UPSTREAM_BAD_REQUEST"],
  ])("%i %s becomes the right code", async (status, code, message, connectCode, reason) => {
    fake.enqueue({ kind: "error", status, body: { code, message, request_id: "req-1" } });
    const err = await failure(gw.client().chat(hello));
    expect(err.code).toBe(connectCode);
    expect(JSON.stringify(err.details)).toContain(reason);
    if (reason !== "UPSTREAM_CREDENTIAL_REJECTED") expect(err.rawMessage).toContain(message);
  });

  it("sends a retry hint along when the vendor gives one", async () => {
    fake.enqueue({ kind: "error", status: 429, headers: { "retry-after": "3" }, body: { code: "Throttling.RateQuota", message: "Requests rate limit exceeded", request_id: "r" } });
    const err = await failure(gw.client().chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("3");
  });

  it("reports a wrong key as Unavailable naming the provider and credential, never the key", async () => {
    const wrong = await startGateway({ DASHSCOPE_API_KEY: "sk-wrong-key-0123456789", DASHSCOPE_BASE_URL: fake.baseUrl });
    try {
      const err = await failure(wrong.client().chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/provider "dashscope" rejected the gateway's credential "dashscope\/env"/);
      const streamErr = await failure(streamText(hello, wrong.client()));
      expect(streamErr.code).toBe(Code.Unavailable);
      expect(wrong.logs.text).not.toContain("sk-wrong-key-0123456789");
      expect(err.rawMessage).not.toContain("sk-wrong-key");
    } finally {
      await wrong.stop();
    }
  });

  it("fails a stream on `event:error` mid-way, by the error's code", async () => {
    fake.failNextStream("InternalError.Algo", "Inference failed", 2);
    let deltas = 0;
    const err = await failure(
      (async () => {
        for await (const event of gw.client().chatStream(hello)) if (event.event.case === "delta") deltas++;
      })(),
    );
    expect(deltas).toBe(2);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("Inference failed");

    fake.failNextStream("Throttling.RateQuota", "Requests rate limit exceeded", 0);
    const limited = await failure(streamText(hello));
    expect(limited.code).toBe(Code.ResourceExhausted);
  });

  it("names a stream that closes before a final finish_reason as cut short", async () => {
    const chunk = { output: { choices: [{ message: { role: "assistant", content: "Echo:" }, finish_reason: "null" }] }, usage: { input_tokens: 4, output_tokens: 1, total_tokens: 5 }, request_id: "r" };
    fake.enqueue({ kind: "error", status: 200, headers: { "content-type": "text/event-stream" }, body: `id:1\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(chunk)}\n\n` });
    const err = await failure(streamText(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("ended the stream before the answer was complete");
  });
});

describe("DashScope streams and the caller", () => {
  it("stops the vendor's stream when the client cancels", async () => {
    fake.options.chunkDelayMs = 30;
    fake.options.extraWords = 200;
    try {
      const controller = new AbortController();
      const abandonedBefore = fake.abandoned.length;
      await expect(cancelAtDelta(gw.client().chatStream(hello, { signal: controller.signal }), controller, 2)).rejects.toThrow();
      await expect.poll(() => fake.abandoned.length, { timeout: 5_000 }).toBe(abandonedBefore + 1);
      expect(fake.abandoned.at(-1)!.path).toBe("/api/v1/services/aigc/text-generation/generation");
    } finally {
      fake.options.chunkDelayMs = undefined;
      fake.options.extraWords = undefined;
    }
  });
});

describe("DashScope embeddings and models", () => {
  it("embeds through the text-embedding service, routed by model name", async () => {
    const res = await gw.client("grpc").embed({ model: "text-embedding-v3", inputs: ["a", "bb"], dimensions: 64 });
    expect(res.provider).toBe("dashscope");
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.embeddings[0]!.values).toHaveLength(64);
    expect(res.usage?.promptTokens).toBe(2);
    const wire = fake.requests.at(-1)!;
    expect(wire.path).toBe("/api/v1/services/embeddings/text-embedding/text-embedding");
    expect(wire.body).toEqual({ model: "text-embedding-v3", input: { texts: ["a", "bb"] }, parameters: { dimension: 64 } });
  });

  it("embeds more texts than DashScope takes at once (10) in batches, in order, with their usage added up", async () => {
    // Distinct lengths: the fake's vector for a text depends on its length, so order shows (as float32 on the wire).
    const inputs = Array.from({ length: 23 }, (_, i) => `${"w ".repeat(i % 3)}text${"x".repeat(i)}`.trim());
    const sent = fake.requests.length;
    const res = await gw.client("connect").embed({ model: "text-embedding-v3", inputs, dimensions: 64 });
    const batches = fake.requests.slice(sent).map((r) => (r.body as { input: { texts: string[] } }).input.texts);
    expect(batches.map((texts) => texts.length).sort((a, b) => b - a)).toEqual([10, 10, 3]);
    expect(batches.flat().sort()).toEqual([...inputs].sort());
    expect(res.embeddings.map((e) => e.index)).toEqual(inputs.map((_, i) => i));
    for (const [i, text] of inputs.entries()) expect(res.embeddings[i]!.values).toEqual(Array.from({ length: 64 }, (_, d) => Math.fround(((text.length + d) % 3) / 3)));
    const words = inputs.reduce((sum, text) => sum + text.split(/\s+/).length, 0);
    expect(res.usage?.promptTokens).toBe(words);
  });

  it("fails the whole call when one batch fails: no vectors from a partial answer", async () => {
    fake.enqueue({ kind: "error", status: 400, body: { code: "InvalidParameter", message: "text too long", request_id: "r" } });
    const err = await failure(gw.client().embed({ model: "text-embedding-v3", inputs: Array.from({ length: 25 }, (_, i) => `t${i}`) }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("text too long");
  });

  it("lists no discovered models (the native API has no list), without failing", async () => {
    const res = await gw.client().listModels({ provider: "dashscope" });
    expect(res.models.filter((m) => m.discovered)).toEqual([]);
  });
});

describe("DashScope secrets", () => {
  it("never shows the API key in errors or logs", () => {
    expect(seenErrors.length).toBeGreaterThan(8);
    for (const text of [gw.logs.text, ...seenErrors]) expect(text).not.toContain(API_KEY);
  });
});

describe("DashScope configuration from the environment", () => {
  it("DASHSCOPE_API_KEY selects the native API by default and routes Qwen models", () => {
    const config = buildConfig({}, { DASHSCOPE_API_KEY: "sk-x" }, "env");
    expect(config.providers[0]).toMatchObject({ name: "dashscope", dialect: "dashscope", baseUrl: "https://dashscope.aliyuncs.com/api/v1" });
    for (const model of ["qwen-*", "qwen2*", "qwen3*", "qwq-*", "text-embedding-v*"]) expect(config.routes).toContainEqual({ model, provider: "dashscope" });
    expect(buildConfig({}, { DASHSCOPE_API_KEY: "sk-x", DASHSCOPE_MODE: "native" }, "env").providers[0]!.dialect).toBe("dashscope");
  });

  it("DASHSCOPE_MODE=compatible selects the OpenAI-compatible mode", () => {
    const config = buildConfig({}, { DASHSCOPE_API_KEY: "sk-x", DASHSCOPE_MODE: "compatible" }, "env");
    expect(config.providers[0]).toMatchObject({ name: "dashscope", dialect: "openai", baseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1" });
  });

  it("stops on an unknown mode, listing the known ones", () => {
    expect(() => buildConfig({}, { DASHSCOPE_API_KEY: "sk-x", DASHSCOPE_MODE: "openai" }, "env")).toThrow(ConfigError);
    expect(() => buildConfig({}, { DASHSCOPE_API_KEY: "sk-x", DASHSCOPE_MODE: "openai" }, "env")).toThrow(/DASHSCOPE_MODE.*native, compatible/);
  });
});
