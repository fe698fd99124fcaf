import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failureRecordedIn } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { abandonedByCancel } from "../support/streams.js";
import { weatherRoundTrip } from "../support/tool-round-trip.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";

const world = gatewayOverFake(
  () => startDashScopeFake({ apiKey: API_KEY }),
  // Only these two variables: the must-show zero-config path.
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);
const seenErrors: string[] = [];

const hello = { model: "qwen-plus", messages: [{ role: Role.USER, content: "hello there" }] };

const failure = failureRecordedIn(seenErrors);

async function streamText(request: Parameters<ReturnType<TestGateway["client"]>["chatStream"]>[0], client = world.gw.client()) {
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
    const res = await world.gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("dashscope");
    expect(res.model).toBe("qwen-plus");
    expect(res.id).not.toBe("");
    expect(res.usage).toMatchObject({ completionTokens: 3 });
    expect(res.usage!.totalTokens).toBe(res.usage!.promptTokens + 3);
    const wire = world.fake.generationRequests().at(-1)!;
    expect(wire.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(wire.headers["x-dashscope-sse"]).toBeUndefined();
  });

  it("streams increments equal to the unary text, then one summary with the last cumulative usage", async () => {
    const unary = await world.gw.client().chat(hello);
    const { text, deltas, summaries } = await streamText(hello);
    expect(text).toBe(unary.message!.content);
    expect(deltas.length).toBeGreaterThan(2);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.usage).toMatchObject({ promptTokens: unary.usage!.promptTokens, completionTokens: 3 });
    expect(summaries[0]!.usageEstimated).toBe(false);
    const wire = world.fake.generationRequests().at(-1)!;
    expect(wire.headers["x-dashscope-sse"]).toBe("enable");
    expect(wire.body.parameters.incremental_output).toBe(true);
  });

  it("takes every chunk as new text, as incremental_output says: an answer that repeats itself (ha, ha, ha!) streams whole", async () => {
    world.fake.options.answerPieces = ["ha", "ha", "ha!"];
    try {
      const unary = await world.gw.client().chat(hello);
      expect(unary.message!.content).toBe("hahaha!");
      const { text, deltas } = await streamText(hello);
      expect(deltas).toEqual(["ha", "ha", "ha!"]);
      expect(text).toBe("hahaha!");
    } finally {
      world.fake.options.answerPieces = undefined;
    }
  });

  it("puts messages in `input` and settings in `parameters`, clamped to DashScope's ranges, and says so", async () => {
    const res = await world.gw.client().chat({
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
      vendorOptions: { repetition_penalty: 1.05, result_format: "text" },
    });
    const wire = world.fake.generationRequests().at(-1)!.body;
    expect(wire).toEqual({
      model: "qwen-max",
      input: {
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "weather in Paris?" },
        ],
      },
      parameters: {
        repetition_penalty: 1.05,
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
    const { call } = await weatherRoundTrip(world.gw.client("grpc"), { ...hello, tools, toolChoice: { choice: { case: "mode", value: ToolChoiceMode.AUTO } } });
    expect(call.id).toMatch(/^call_/);
    // The round trip's first request offered the tools.
    const [offering] = world.fake.generationRequests().slice(-2);
    expect(offering!.body.parameters).toMatchObject({ tool_choice: "auto", tools: [{ type: "function", function: tools[0] }] });
    const wire = world.fake.generationRequests().at(-1)!.body.input.messages;
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
    const res = await world.gw.client().chat({ ...hello, messages: [{ role: Role.USER, content: "answer in JSON please" }], responseFormat: { type: ResponseFormatType.JSON_OBJECT } });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: answer in JSON please" });
    expect(world.fake.generationRequests().at(-1)!.body.parameters.response_format).toEqual({ type: "json_object" });

    const err = await failure(world.gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_OBJECT } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("'messages' must contain the word 'json' in some form");
    expect(err.rawMessage).toContain("InvalidParameter");
  });

  it("degrades a JSON schema to JSON mode with the schema in a system message, as the native API documents no json_schema, and says so", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } } };
    const res = await world.gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_SCHEMA, schemaName: "reply", schema } });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: hello there" });
    const wire = world.fake.generationRequests().at(-1)!.body;
    expect(wire.parameters.response_format).toEqual({ type: "json_object" });
    expect(wire.input.messages[0]).toMatchObject({ role: "system", content: expect.stringContaining(JSON.stringify(schema)) });
    expect(res.adjustments.map((a) => `${a.parameter} ${a.requested}->${a.sent}`)).toEqual(["response_format json_schema->json_object"]);

    // The fake holds to the reference: a json_schema that reaches it anyway (in vendor_options) is refused, not answered in text.
    const err = await failure(world.gw.client().chat({ ...hello, vendorOptions: { response_format: { type: "json_schema", json_schema: { name: "reply", schema } } } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('response_format.type must be "text" or "json_object"');
  });

  it("drops frequency_penalty and the end user, which the native API has no field for, and says so", async () => {
    const res = await world.gw.client().chat({ ...hello, frequencyPenalty: 1.5, user: "end-user-7" });
    expect(world.fake.generationRequests().at(-1)!.body.parameters).toEqual({ result_format: "message" });
    expect(res.adjustments.map((a) => `${a.parameter}: ${a.reason}`)).toEqual(["frequency_penalty: qwen-plus ignores frequency_penalty", "user: qwen-plus ignores user"]);
  });

  it("maps a cut answer to LENGTH", async () => {
    const res = await world.gw.client().chat({ ...hello, maxTokens: 1 });
    expect(res.finishReason).toBe(FinishReason.LENGTH);
    expect(res.message?.content).toBe("Echo:");
  });

  it("turns an unknown model into NotFound", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, model: "qwen-nonexistent" }));
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
    // The model is not enabled for the gateway's account: the operator's to fix, not the caller's (the key stays in rotation).
    [403, "AccessDenied", "Access denied.", Code.PermissionDenied, "UPSTREAM_ACCOUNT_REFUSED"],
  ])("%i %s becomes the right code", async (status, code, message, connectCode, reason) => {
    world.fake.enqueue({ kind: "error", status, body: { code, message, request_id: "req-1" } });
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(connectCode);
    expect(JSON.stringify(err.details)).toContain(reason);
    if (reason !== "UPSTREAM_CREDENTIAL_REJECTED") expect(err.rawMessage).toContain(message);
  });

  it("sends a retry hint along when the vendor gives one", async () => {
    world.fake.enqueue({ kind: "error", status: 429, headers: { "retry-after": "3" }, body: { code: "Throttling.RateQuota", message: "Requests rate limit exceeded", request_id: "r" } });
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("3");
  });

  it("reports a wrong key as Unavailable naming the provider and credential, never the key", async () => {
    const wrong = await startGateway({ DASHSCOPE_API_KEY: "sk-wrong-key-0123456789", DASHSCOPE_BASE_URL: world.fake.baseUrl });
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
    world.fake.failNextStream("InternalError.Algo", "Inference failed", 2);
    let deltas = 0;
    const err = await failure(
      (async () => {
        for await (const event of world.gw.client().chatStream(hello)) if (event.event.case === "delta") deltas++;
      })(),
    );
    expect(deltas).toBe(2);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("Inference failed");

    world.fake.failNextStream("Throttling.RateQuota", "Requests rate limit exceeded", 0);
    const limited = await failure(streamText(hello));
    expect(limited.code).toBe(Code.ResourceExhausted);
  });

  it("names a stream that closes before a final finish_reason as cut short", async () => {
    const chunk = { output: { choices: [{ message: { role: "assistant", content: "Echo:" }, finish_reason: "null" }] }, usage: { input_tokens: 4, output_tokens: 1, total_tokens: 5 }, request_id: "r" };
    world.fake.enqueue({ kind: "error", status: 200, headers: { "content-type": "text/event-stream" }, body: `id:1\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(chunk)}\n\n` });
    const err = await failure(streamText(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("ended the stream before the answer was complete");
  });
});

describe("DashScope streams and the caller", () => {
  it("stops the vendor's stream when the client cancels", async () => {
    const abandoned = await abandonedByCancel(world.fake, { chunkDelayMs: 30, extraWords: 200 }, (signal) => world.gw.client().chatStream(hello, { signal }), 2);
    expect(abandoned.path).toBe("/api/v1/services/aigc/text-generation/generation");
  });
});

describe("DashScope embeddings and models", () => {
  it("embeds through the text-embedding service, routed by model name", async () => {
    const res = await world.gw.client("grpc").embed({ model: "text-embedding-v3", inputs: ["a", "bb"], dimensions: 64 });
    expect(res.provider).toBe("dashscope");
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.embeddings[0]!.values).toHaveLength(64);
    expect(res.usage?.promptTokens).toBe(2);
    const wire = world.fake.requests.at(-1)!;
    expect(wire.path).toBe("/api/v1/services/embeddings/text-embedding/text-embedding");
    expect(wire.body).toEqual({ model: "text-embedding-v3", input: { texts: ["a", "bb"] }, parameters: { dimension: 64 } });
  });

  it("embeds more texts than DashScope takes at once (10) in batches, in order, with their usage added up", async () => {
    // Distinct lengths: the fake's vector for a text depends on its length, so order shows (as float32 on the wire).
    const inputs = Array.from({ length: 23 }, (_, i) => `${"w ".repeat(i % 3)}text${"x".repeat(i)}`.trim());
    const sent = world.fake.requests.length;
    const res = await world.gw.client("connect").embed({ model: "text-embedding-v3", inputs, dimensions: 64 });
    const batches = world.fake.requests.slice(sent).map((r) => (r.body as { input: { texts: string[] } }).input.texts);
    expect(batches.map((texts) => texts.length).sort((a, b) => b - a)).toEqual([10, 10, 3]);
    expect(batches.flat().sort()).toEqual([...inputs].sort());
    expect(res.embeddings.map((e) => e.index)).toEqual(inputs.map((_, i) => i));
    for (const [i, text] of inputs.entries()) expect(res.embeddings[i]!.values).toEqual(Array.from({ length: 64 }, (_, d) => Math.fround(((text.length + d) % 3) / 3)));
    const words = inputs.reduce((sum, text) => sum + text.split(/\s+/).length, 0);
    expect(res.usage?.promptTokens).toBe(words);
  });

  it("fails the whole call when one batch fails: no vectors from a partial answer", async () => {
    world.fake.enqueue({ kind: "error", status: 400, body: { code: "InvalidParameter", message: "text too long", request_id: "r" } });
    const err = await failure(world.gw.client().embed({ model: "text-embedding-v3", inputs: Array.from({ length: 25 }, (_, i) => `t${i}`) }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("text too long");
  });

  it("lists no discovered models (the native API has no list), without failing", async () => {
    const res = await world.gw.client().listModels({ provider: "dashscope" });
    expect(res.models.filter((m) => m.discovered)).toEqual([]);
  });
});

describe("DashScope secrets", () => {
  it("never shows the API key in errors or logs", () => {
    expect(seenErrors.length).toBeGreaterThan(8);
    for (const text of [world.gw.logs.text, ...seenErrors]) expect(text).not.toContain(API_KEY);
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
