import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Capability } from "../../gen/ts/switchboard/v1/models_pb.js";
import { googleError, rateLimited, startGeminiFake } from "../fakes/gemini-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { PROTOCOLS, startGateway } from "../support/gateway.js";
import { abandonedByCancel, cutShort, drain, streamedLikeUnary } from "../support/streams.js";
import { weatherRoundTrip } from "../support/tool-round-trip.js";

const UPSTREAM_KEY = "AIzaSyUpstreamSecret0123456789abcdefXYZ";
const world = gatewayOverFake(
  () => startGeminiFake({ apiKey: UPSTREAM_KEY }),
  (fake) => ({ GEMINI_API_KEY: UPSTREAM_KEY, GEMINI_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);

const MODEL = "gemini-2.5-flash";
const hello = { model: MODEL, messages: [{ role: Role.USER, content: "hello there" }] };
const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } }, additionalProperties: false } }];

describe.each(PROTOCOLS)("Gemini through the gateway over %s", (protocol) => {
  it("answers Chat with the vendor's usage, thinking tokens as reasoning", async () => {
    const res = await world.gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("gemini");
    expect(res.model).toBe(MODEL);
    expect(res.id).not.toBe("");
    // 3 answer words + 5 thinking tokens (the fake's thinking model).
    expect(res.usage?.completionTokens).toBe(8);
    expect(res.usage?.reasoningTokens).toBe(5);
    expect(res.usage?.totalTokens).toBe(res.usage!.promptTokens + 8);
  });

  it("streams the same text (CRLF-framed events), then one summary with the finish reason and the last usage", async () => {
    expect((await streamedLikeUnary(world.gw.client(protocol), hello)).provider).toBe("gemini");
  });
});

describe("the Gemini wire request", () => {
  it("puts system messages in systemInstruction, uses user/model roles and nests settings in generationConfig", async () => {
    const before = world.fake.generateRequests().length;
    await world.gw.client().chat(
      create(ChatRequestSchema, {
        model: MODEL,
        messages: [
          { role: Role.SYSTEM, content: "be brief" },
          { role: Role.USER, content: "hi" },
          { role: Role.ASSISTANT, content: "hello" },
          { role: Role.USER, content: "weather in Paris?" },
          { role: Role.USER, content: "today" },
        ],
        temperature: 1.5,
        topP: 0.9,
        maxTokens: 50,
        stop: ["END"],
        seed: 42n,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
        vendorOptions: { generationConfig: { topK: 3, temperature: 0 }, safetySettings: [] },
      }),
    );
    expect(world.fake.generateRequests()).toHaveLength(before + 1);
    const recorded = world.fake.requests.at(-1)!;
    expect(recorded.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(recorded.headers["x-goog-api-key"]).toBe(UPSTREAM_KEY);
    expect(recorded.body).toEqual({
      systemInstruction: { parts: [{ text: "be brief" }] },
      contents: [
        { role: "user", parts: [{ text: "hi" }] },
        { role: "model", parts: [{ text: "hello" }] },
        // Consecutive user messages become one turn.
        { role: "user", parts: [{ text: "weather in Paris?" }, { text: "today" }] },
      ],
      generationConfig: { topK: 3, temperature: 1.5, topP: 0.9, maxOutputTokens: 50, stopSequences: ["END"], seed: 42, presencePenalty: 0.5, frequencyPenalty: 0.25 },
      safetySettings: [],
    });
  });

  it("streams from :streamGenerateContent?alt=sse", async () => {
    await drain(world.gw.client().chatStream(hello));
    expect(world.fake.requests.at(-1)!.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
  });

  it("sends images as inlineData (data URLs) and fileData (http URLs)", async () => {
    await world.gw.client().chat({
      model: MODEL,
      messages: [
        {
          role: Role.USER,
          parts: [
            { part: { case: "text", value: "what is this?" } },
            { part: { case: "imageUrl", value: { url: "data:image/png;base64,iVBORw0KGgo=" } } },
            { part: { case: "imageUrl", value: { url: "https://example.com/cat.jpg" } } },
          ],
        },
      ],
    });
    expect(world.fake.generateRequests().at(-1)!.contents[0].parts).toEqual([
      { text: "what is this?" },
      { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
      { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.jpg" } },
    ]);
  });

  it("declares tools with their JSON Schema and maps tool choice modes", async () => {
    const modes: [ToolChoiceMode | string, unknown][] = [
      [ToolChoiceMode.AUTO, { mode: "AUTO" }],
      [ToolChoiceMode.NONE, { mode: "NONE" }],
      [ToolChoiceMode.REQUIRED, { mode: "ANY" }],
      ["get_weather", { mode: "ANY", allowedFunctionNames: ["get_weather"] }],
    ];
    for (const [mode, expected] of modes) {
      const choice = typeof mode === "string" ? { case: "functionName" as const, value: mode } : { case: "mode" as const, value: mode };
      await world.gw.client().chat({ ...hello, tools, toolChoice: { choice } });
      const wire = world.fake.generateRequests().at(-1)!;
      expect(wire.toolConfig).toEqual({ functionCallingConfig: expected });
      expect(wire.tools).toEqual([{ functionDeclarations: [{ name: "get_weather", description: "weather by city", parametersJsonSchema: tools[0]!.parameters }] }]);
    }
  });
});

describe("tool calls", () => {
  it("round-trips a function call, unary, with a made-up id and TOOL_CALLS", async () => {
    const { call, second } = await weatherRoundTrip(world.gw.client("grpc"), { ...hello, tools });
    expect(call.id).toMatch(/^call_0_[A-Za-z0-9]+$/);
    expect(second.finishReason).toBe(FinishReason.STOP);
    const wire = world.fake.generateRequests().at(-1)!;
    expect(wire.contents[1]).toEqual({ role: "model", parts: [{ functionCall: { name: "get_weather", args: { query: "Paris" } } }] });
    expect(wire.contents[2]).toEqual({ role: "user", parts: [{ functionResponse: { name: "get_weather", response: { content: "sunny, 21C" } } }] });
  });

  it("passes a JSON tool result as structured data", async () => {
    await world.gw.client().chat({
      ...hello,
      tools,
      messages: [
        { role: Role.USER, content: "Paris" },
        { role: Role.ASSISTANT, toolCalls: [{ id: "call_0", name: "get_weather", arguments: '{"query":"Paris"}' }] },
        { role: Role.TOOL, toolCallId: "call_0", content: '{"temp":21}' },
      ],
    });
    expect(world.fake.generateRequests().at(-1)!.contents[2].parts[0].functionResponse.response).toEqual({ content: { temp: 21 } });
  });

  it("streams a function call and assembles it in the summary", async () => {
    const { fragments, summaries } = await drain(world.gw.client("grpc").chatStream({ ...hello, messages: [{ role: Role.USER, content: "Rome" }], tools }));
    expect(fragments).toBe(1);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(summaries[0]!.toolCalls).toHaveLength(1);
    expect(summaries[0]!.toolCalls[0]!.id).toMatch(/^call_0_[A-Za-z0-9]+$/);
    expect(JSON.parse(summaries[0]!.toolCalls[0]!.arguments)).toEqual({ query: "Rome" });
  });

  it("carries Gemini 3's thought signature through the tool call id, as Gemini 3 requires it back", async () => {
    const model = "gemini-3-pro-preview";
    const first = await world.gw.client().chat({ model, messages: [{ role: Role.USER, content: "Paris" }], tools });
    const call = first.message!.toolCalls[0]!;
    expect(call.id).toMatch(/^call_0_[A-Za-z0-9]+_gts_[A-Za-z0-9_-]+$/);
    const issued = world.fake.requests.length;
    const second = await world.gw.client().chat({
      model,
      tools,
      messages: [{ role: Role.USER, content: "Paris" }, first.message!, { role: Role.TOOL, toolCallId: call.id, content: "sunny" }],
    });
    expect(second.message?.content).toBe("Tool result: sunny");
    const part = world.fake.generateRequests().at(-1)!.contents[1].parts[0];
    expect(part.thoughtSignature).toMatch(/^\+.*\/w==$/);
    expect(world.fake.requests.length).toBe(issued + 1);

    // With a signature Gemini did not give, the fake, like Gemini 3, refuses the replay.
    const forged = `${call.id.split("_gts_")[0]}_gts_Zm9yZ2Vk`;
    const err = await failure(
      world.gw.client().chat({
        model,
        tools,
        messages: [{ role: Role.USER, content: "Paris" }, { ...first.message!, toolCalls: [{ ...call, id: forged }] }, { role: Role.TOOL, toolCallId: forged, content: "sunny" }],
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("thought_signature");
  });

  it("refuses a tool result whose call it cannot find (Gemini needs the function name)", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, tools, messages: [{ role: Role.USER, content: "x" }, { role: Role.TOOL, toolCallId: "nope", content: "y" }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('"nope"');
  });
});

describe("JSON mode", () => {
  it("asks for application/json for JSON_OBJECT", async () => {
    const res = await world.gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_OBJECT } });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: hello there" });
    expect(world.fake.generateRequests().at(-1)!.generationConfig).toEqual({ responseMimeType: "application/json" });
  });

  it("adds the JSON_SCHEMA schema as responseJsonSchema", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
    const { text } = await drain(world.gw.client().chatStream({ ...hello, responseFormat: { type: ResponseFormatType.JSON_SCHEMA, schemaName: "a", schema } }));
    expect(JSON.parse(text)).toEqual({ answer: "Echo: hello there" });
    expect(world.fake.generateRequests().at(-1)!.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
  });
});

it("maps a cut answer to LENGTH", async () => {
  expect(await cutShort(world.gw.client(), { ...hello, maxTokens: 1 })).toBe("Echo:");
});

describe("vendor failures become codes a caller can act on", () => {
  it("a blocked prompt → InvalidArgument CONTENT_FILTERED, unary and streamed", async () => {
    const blocked = { ...hello, messages: [{ role: Role.USER, content: "something [blocked]" }] };
    const err = await failure(world.gw.client().chat(blocked));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("SAFETY");
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("CONTENT_FILTERED");
    const streamed = await failure(drain(world.gw.client().chatStream(blocked)));
    expect(streamed.code).toBe(Code.InvalidArgument);
  });

  it("a request Gemini rejects → InvalidArgument with Gemini's message", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, vendorOptions: { generationConfig: { bogusKnob: 1 } } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('Unknown name "bogusKnob"');
  });

  it("an unknown model → NotFound", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, model: "gemini-9-ultra" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("models/gemini-9-ultra is not found");
  });

  it("429 with RetryInfo 13s → ResourceExhausted, retry after 13 seconds", async () => {
    world.fake.enqueue(rateLimited("13s"));
    const err = await failure(world.gw.client("connect").chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("13");
    const [retry] = err.findDetails(RetryInfoSchema);
    expect(Number(retry?.retryDelay?.seconds) * 1000 + (retry?.retryDelay?.nanos ?? 0) / 1e6).toBe(13_000);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_RATE_LIMITED");
  });

  it("429 with only a retry-after header → that delay", async () => {
    world.fake.enqueue(googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [], { "retry-after": "4" }));
    const err = await failure(world.gw.client("grpc").chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("4");
  });

  it.each([
    [500, "INTERNAL", Code.Unavailable],
    [503, "UNAVAILABLE", Code.Unavailable],
    [504, "DEADLINE_EXCEEDED", Code.DeadlineExceeded],
  ])("%i %s → %s", async (status, name, code) => {
    world.fake.enqueue(googleError(status, name, "The model is overloaded. Please try again later."));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(code);
  });

  it("403 PERMISSION_DENIED for a leaked key → Unavailable (an operator problem)", async () => {
    world.fake.enqueue(googleError(403, "PERMISSION_DENIED", "Your API key was reported as leaked. Please use another API key."));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_CREDENTIAL_REJECTED");
  });

  it("a rejected key (400 API_KEY_INVALID) → Unavailable naming the provider and credential, never the key", async () => {
    const wrongKey = "AIzaSyRevokedKey99999999999999999999";
    const other = await startGateway({ GEMINI_API_KEY: wrongKey, GEMINI_BASE_URL: world.fake.baseUrl });
    try {
      const err = await failure(other.client().chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain('provider "gemini"');
      expect(err.rawMessage).toContain("gemini/env");
      expect(err.rawMessage).not.toContain(wrongKey);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_CREDENTIAL_REJECTED");
      const streamed = await failure(drain(other.client().chatStream(hello)));
      expect(streamed.code).toBe(Code.Unavailable);
      expect(other.logs.text).not.toContain(wrongKey);
    } finally {
      await other.stop();
    }
  });

  it("a stream that closes before a finishReason is an error, not a short answer", async () => {
    world.fake.cutNextStream();
    let text = "";
    const err = await failure(
      (async () => {
        for await (const event of world.gw.client().chatStream(hello)) if (event.event.case === "delta") text += event.event.value.content;
      })(),
    );
    expect(text).toBe("Echo");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("before the answer was complete");
  });

  it("a connection reset → Unavailable", async () => {
    world.fake.enqueue({ kind: "reset" });
    const err = await failure(drain(world.gw.client().chatStream(hello)));
    expect(err.code).toBe(Code.Unavailable);
  });
});

it("passes the caller's cancellation on to Gemini", async () => {
  const story = { ...hello, messages: [{ role: Role.USER, content: "a long story" }] };
  const abandoned = await abandonedByCancel(world.fake, { chunkDelayMs: 20, extraWords: 500 }, (signal) => world.gw.client().chatStream(story, { signal }));
  expect(abandoned.path).toContain(":streamGenerateContent");
});

it("embeds texts through batchEmbedContents", async () => {
  const res = await world.gw.client("grpc").embed({ model: "text-embedding-004", inputs: ["a", "bb"], dimensions: 4 });
  expect(res.provider).toBe("gemini");
  expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
  expect(res.embeddings[1]!.values).toHaveLength(4);
  const recorded = world.fake.requests.at(-1)!;
  expect(recorded.path).toBe("/v1beta/models/text-embedding-004:batchEmbedContents");
  expect(recorded.body).toEqual({
    requests: [
      { model: "models/text-embedding-004", content: { parts: [{ text: "a" }] }, outputDimensionality: 4 },
      { model: "models/text-embedding-004", content: { parts: [{ text: "bb" }] }, outputDimensionality: 4 },
    ],
  });
});

it("embeds 250 texts as batches of at most 100, Gemini's limit", async () => {
  const inputs = Array.from({ length: 250 }, (_, i) => `text ${i}`);
  const sent = world.fake.requests.length;
  const res = await world.gw.client("connect").embed({ model: "text-embedding-004", inputs, dimensions: 4 });
  expect(res.embeddings).toHaveLength(250);
  const sizes = world.fake.requests.slice(sent).map((r) => (r.body as { requests: unknown[] }).requests.length);
  expect(sizes.sort((a, b) => b - a)).toEqual([100, 100, 50]);
});

it("lists Gemini's chat and embedding models, leaving out those it cannot serve", async () => {
  const res = await world.gw.client().listModels({ provider: "gemini" });
  const ids = res.models.map((m) => m.id);
  expect(ids).toEqual(expect.arrayContaining(["gemini-2.5-flash", "gemini-3-pro-preview", "text-embedding-004", "gemini-embedding-001"]));
  expect(ids).not.toContain("aqa");
  expect(res.models.find((m) => m.id === "gemini-embedding-001")?.capabilities).toEqual([Capability.EMBEDDINGS]);
  expect(res.models.find((m) => m.id === "gemini-2.5-flash")?.capabilities).toContain(Capability.CHAT);
});

it("never writes the upstream key to the logs", () => {
  expect(world.gw.logs.text.length).toBeGreaterThan(0);
  expect(world.gw.logs.text).not.toContain(UPSTREAM_KEY);
});
