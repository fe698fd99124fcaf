import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema, type ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { anthropicError, startAnthropicFake } from "../fakes/anthropic-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { PROTOCOLS, startGateway } from "../support/gateway.js";
import { abandonedByCancel, cutShort, drain, streamedLikeUnary } from "../support/streams.js";
import { weatherRoundTrip } from "../support/tool-round-trip.js";

const UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789abcdef";
const world = gatewayOverFake(
  () => startAnthropicFake({ apiKey: UPSTREAM_KEY }),
  (fake) => ({ ANTHROPIC_API_KEY: UPSTREAM_KEY, ANTHROPIC_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);

const MODEL = "claude-sonnet-4-5";
const hello = { model: MODEL, messages: [{ role: Role.USER, content: "hello there" }] };
const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];

async function streamFailure(stream: AsyncIterable<ChatStreamResponse>): Promise<{ err: ConnectError; text: string }> {
  let text = "";
  try {
    for await (const event of stream) if (event.event.case === "delta") text += event.event.value.content;
  } catch (err) {
    return { err: ConnectError.from(err), text };
  }
  throw new Error("the stream succeeded");
}

describe.each(PROTOCOLS)("Anthropic through the gateway over %s", (protocol) => {
  it("answers Chat, saying who served it", async () => {
    const res = await world.gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("anthropic");
    expect(res.model).toBe(MODEL);
    expect(res.id).toMatch(/^msg_/);
    expect(res.usage?.promptTokens).toBeGreaterThan(0);
    expect(res.usage?.completionTokens).toBe(3);
    expect(res.usage?.totalTokens).toBe(res.usage!.promptTokens + res.usage!.completionTokens);
  });

  it("streams the same text, then one summary with the finish reason and the vendor's usage", async () => {
    expect((await streamedLikeUnary(world.gw.client(protocol), hello)).provider).toBe("anthropic");
  });
});

describe("the Anthropic wire request", () => {
  it("puts system messages in the top-level system field and maps every field to Anthropic's names", async () => {
    const before = world.fake.messageRequests().length;
    await world.gw.client().chat(
      create(ChatRequestSchema, {
        model: MODEL,
        messages: [
          { role: Role.SYSTEM, content: "be brief" },
          { role: Role.SYSTEM, content: "be kind" },
          { role: Role.USER, content: "weather in Paris?" },
        ],
        temperature: 1.6,
        topP: 0.9,
        maxTokens: 50,
        stop: ["END"],
        seed: 42n,
        user: "user-7",
        presencePenalty: 0.5,
        vendorOptions: { top_k: 5, model: "must-not-override" },
      }),
    );
    const recorded = world.fake.requests.filter((r) => r.path === "/v1/messages")[before]!;
    expect(recorded.headers["x-api-key"]).toBe(UPSTREAM_KEY);
    expect(recorded.headers["anthropic-version"]).toBe("2023-06-01");
    expect(recorded.body).toEqual({
      model: MODEL,
      system: "be brief\n\nbe kind",
      messages: [{ role: "user", content: "weather in Paris?" }],
      // Clamped into Anthropic's 0-1, not scaled; top_p dropped, as Claude Sonnet 4.5 takes temperature or top_p.
      temperature: 1,
      max_tokens: 50,
      stop_sequences: ["END"],
      metadata: { user_id: "user-7" },
      top_k: 5,
      // Anthropic's automatic prompt caching: a caller of the typed API cannot mark breakpoints (automatic-prompt-caching.ts).
      cache_control: { type: "ephemeral" },
    });
  });

  // max_tokens when the caller sets none: anthropic-max-tokens.test.ts.

  it("sends images as image blocks: data URLs as base64, http URLs as url sources", async () => {
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
    expect(world.fake.messageRequests().at(-1)!.messages[0].content).toEqual([
      { type: "text", text: "what is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });

  it("merges consecutive same-role messages and puts tool results first, as Anthropic requires", async () => {
    const res = await world.gw.client().chat({
      model: MODEL,
      tools,
      messages: [
        { role: Role.USER, content: "Paris and Rome?" },
        {
          role: Role.ASSISTANT,
          toolCalls: [
            { id: "toolu_a", name: "get_weather", arguments: '{"query":"Paris"}' },
            { id: "toolu_b", name: "get_weather", arguments: '{"query":"Rome"}' },
          ],
        },
        { role: Role.TOOL, toolCallId: "toolu_a", content: "sunny" },
        { role: Role.TOOL, toolCallId: "toolu_b", content: "rainy" },
        { role: Role.USER, content: "and in short?" },
        { role: Role.USER, content: "please" },
      ],
    });
    expect(res.message?.content).toBe("Tool result: sunny rainy");
    const wire = world.fake.messageRequests().at(-1)!;
    expect(wire.messages).toEqual([
      { role: "user", content: "Paris and Rome?" },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_a", name: "get_weather", input: { query: "Paris" } },
          { type: "tool_use", id: "toolu_b", name: "get_weather", input: { query: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_a", content: "sunny" },
          { type: "tool_result", tool_use_id: "toolu_b", content: "rainy" },
          { type: "text", text: "and in short?" },
          { type: "text", text: "please" },
        ],
      },
    ]);
  });

  it("maps tool choice modes", async () => {
    const modes: [ToolChoiceMode | string, unknown][] = [
      [ToolChoiceMode.AUTO, { type: "auto" }],
      [ToolChoiceMode.NONE, { type: "none" }],
      [ToolChoiceMode.REQUIRED, { type: "any" }],
      ["get_weather", { type: "tool", name: "get_weather" }],
    ];
    for (const [mode, expected] of modes) {
      const choice = typeof mode === "string" ? { case: "functionName" as const, value: mode } : { case: "mode" as const, value: mode };
      await world.gw.client().chat({ ...hello, tools, toolChoice: { choice } });
      const wire = world.fake.messageRequests().at(-1)!;
      expect(wire.tool_choice).toEqual(expected);
      expect(wire.tools).toEqual([{ name: "get_weather", description: "weather by city", input_schema: tools[0]!.parameters }]);
    }
  });

  it("reports prompt-cache reads and writes in the prompt total, and reads as cached tokens", async () => {
    world.fake.options.cacheReadTokens = 100;
    world.fake.options.cacheCreationTokens = 20;
    try {
      const plain = await world.gw.client().chat({ ...hello, messages: [{ role: Role.USER, content: "cache me" }] });
      const uncached = plain.usage!.promptTokens - 120;
      expect(uncached).toBeGreaterThan(0);
      expect(plain.usage?.cachedTokens).toBe(100);
      const { summaries } = await drain(world.gw.client().chatStream({ ...hello, messages: [{ role: Role.USER, content: "cache me" }] }));
      expect(summaries[0]!.usage).toEqual(plain.usage);
    } finally {
      world.fake.options.cacheReadTokens = 0;
      world.fake.options.cacheCreationTokens = 0;
    }
  });
});

describe("tool calls", () => {
  it("round-trips a tool call, unary", async () => {
    const { first, call, second } = await weatherRoundTrip(world.gw.client("grpc"), { ...hello, tools });
    expect(first.message?.content).toBe("Let me check.");
    expect(call.id).toMatch(/^toolu_/);
    expect(second.finishReason).toBe(FinishReason.STOP);
    const wire = world.fake.messageRequests().at(-1)!;
    expect(wire.messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: call.id, name: "get_weather", input: { query: "Paris" } },
      ],
    });
    expect(wire.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny, 21C" }] });
  });

  it("streams a tool call as fragments and assembles it in the summary", async () => {
    const { text, fragments, summaries } = await drain(
      world.gw.client("grpc").chatStream({ ...hello, messages: [{ role: Role.USER, content: "Rome" }], tools, toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } }),
    );
    expect(text).toBe("");
    expect(fragments).toBeGreaterThan(2);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(summaries[0]!.toolCalls).toHaveLength(1);
    expect(summaries[0]!.toolCalls[0]!.id).toMatch(/^toolu_/);
    expect(summaries[0]!.toolCalls[0]!.name).toBe("get_weather");
    expect(JSON.parse(summaries[0]!.toolCalls[0]!.arguments)).toEqual({ query: "Rome" });
    expect(summaries[0]!.usageEstimated).toBe(false);
  });

  it("streams text before a tool call with the call at index 0", async () => {
    const { text, summaries } = await drain(world.gw.client("connect").chatStream({ ...hello, messages: [{ role: Role.USER, content: "Oslo" }], tools }));
    expect(text).toBe("Let me check.");
    expect(summaries[0]!.toolCalls.map((c) => c.name)).toEqual(["get_weather"]);
    expect(JSON.parse(summaries[0]!.toolCalls[0]!.arguments)).toEqual({ query: "Oslo" });
  });
});

describe("JSON mode (a forced tool stands in for response_format)", () => {
  it("answers JSON_OBJECT with the tool's input as text and finish STOP", async () => {
    const res = await world.gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_OBJECT } });
    expect(JSON.parse(res.message!.content)).toEqual({ query: "hello there" });
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.message?.toolCalls).toHaveLength(0);
    const wire = world.fake.messageRequests().at(-1)!;
    expect(wire.tool_choice).toEqual({ type: "tool", name: "json_response" });
    expect(wire.tools).toEqual([{ name: "json_response", description: expect.any(String), input_schema: { type: "object" } }]);
    expect(wire.response_format).toBeUndefined();
  });

  it("uses the JSON_SCHEMA schema as the tool's input schema, and streams the JSON as text", async () => {
    const schema = { type: "object", properties: { query: { type: "string" } }, required: ["query"] };
    const request = { ...hello, responseFormat: { type: ResponseFormatType.JSON_SCHEMA, schemaName: "q", schema } };
    const { text, summaries } = await drain(world.gw.client().chatStream(request));
    expect(JSON.parse(text)).toEqual({ query: "hello there" });
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.toolCalls).toHaveLength(0);
    expect(world.fake.messageRequests().at(-1)!.tools[0].input_schema).toEqual(schema);
  });
});

it("maps a cut answer to LENGTH", async () => {
  expect(await cutShort(world.gw.client(), { ...hello, maxTokens: 1 })).toBe("Echo:");
});

describe("vendor failures become codes a caller can act on", () => {
  it("a request Anthropic rejects → InvalidArgument with Anthropic's message", async () => {
    // A field Anthropic does not know (the gateway refuses blank stop sequences itself: anthropic-blank-stop-sequences.test.ts).
    const err = await failure(world.gw.client().chat({ ...hello, vendorOptions: { frobnicate: true } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("frobnicate: Extra inputs are not permitted");
    expect(err.rawMessage).toContain('provider "anthropic"');
  });

  it("never repeats a key the vendor echoes", async () => {
    world.fake.enqueue(anthropicError(400, "invalid_request_error", `header x-api-key ${UPSTREAM_KEY} is malformed`));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).not.toContain(UPSTREAM_KEY);
    expect(err.rawMessage).toContain("[redacted]");
  });

  it("413 request_too_large → InvalidArgument", async () => {
    world.fake.enqueue(anthropicError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes."));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("maximum allowed number of bytes");
  });

  it("an unknown model → NotFound", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, model: "claude-no-such-model" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_MODEL_NOT_FOUND");
  });

  it("429 → ResourceExhausted with the vendor's retry-after, as a header and as RetryInfo", async () => {
    world.fake.enqueue(anthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", { "retry-after": "7" }));
    const err = await failure(world.gw.client("connect").chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("7");
    expect(Number(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBe(7);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_RATE_LIMITED");
  });

  it.each([
    [402, "billing_error", "Your account has an outstanding balance."],
    [400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."],
  ])("%i %s about billing → ResourceExhausted (quota)", async (status, type, message) => {
    world.fake.enqueue(anthropicError(status, type, message));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_QUOTA_EXHAUSTED");
  });

  it.each([
    [529, "overloaded_error", "Overloaded"],
    [500, "api_error", "Internal server error"],
  ])("%i %s → Unavailable", async (status, type, message) => {
    world.fake.enqueue(anthropicError(status, type, message));
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain(`HTTP ${status}`);
    expect(err.rawMessage).toContain(message);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_OVERLOADED");
  });

  it("a rejected key → Unavailable naming the provider and credential, never the key", async () => {
    const wrongKey = "sk-ant-api03-revoked-key-9999999999";
    const other = await startGateway({ ANTHROPIC_API_KEY: wrongKey, ANTHROPIC_BASE_URL: world.fake.baseUrl });
    try {
      const err = await failure(other.client().chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain('provider "anthropic"');
      expect(err.rawMessage).toContain("anthropic/env");
      expect(err.rawMessage).not.toContain(wrongKey);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_CREDENTIAL_REJECTED");
      expect(other.logs.text).not.toContain(wrongKey);
    } finally {
      await other.stop();
    }
  });

  it("a mid-stream overloaded error → Unavailable after the text so far", async () => {
    world.fake.failNextStream("overloaded_error", "Overloaded");
    const { err, text } = await streamFailure(world.gw.client().chatStream(hello));
    expect(text).toBe("Echo");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("Overloaded");
  });

  it("a mid-stream rate-limit error → ResourceExhausted", async () => {
    world.fake.failNextStream("rate_limit_error", "Rate limited");
    const { err } = await streamFailure(world.gw.client("grpc").chatStream(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("a stream cut before message_stop is an error, not a short answer", async () => {
    world.fake.cutNextStream();
    const { err, text } = await streamFailure(world.gw.client().chatStream(hello));
    expect(text).toBe("Echo");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("before the answer was complete");
  });
});

it("passes the caller's cancellation on to Anthropic", async () => {
  const story = { ...hello, messages: [{ role: Role.USER, content: "a long story" }] };
  const abandoned = await abandonedByCancel(world.fake, { chunkDelayMs: 20, extraWords: 500 }, (signal) => world.gw.client().chatStream(story, { signal }));
  expect((abandoned.body as { messages: { content: string }[] }).messages[0]!.content).toBe("a long story");
});

it("answers Embed with Unimplemented: Anthropic has no embeddings API", async () => {
  const err = await failure(world.gw.client().embed({ model: "anthropic/claude-sonnet-4-5", inputs: ["a"] }));
  expect(err.code).toBe(Code.Unimplemented);
  expect(err.rawMessage).toContain("embeddings");
});

it("lists Anthropic's models", async () => {
  const res = await world.gw.client().listModels({ provider: "anthropic" });
  expect(res.models.map((m) => m.id)).toEqual(expect.arrayContaining(["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]));
});

it("never writes the upstream key to the logs", () => {
  expect(world.gw.logs.text.length).toBeGreaterThan(0);
  expect(world.gw.logs.text).not.toContain(UPSTREAM_KEY);
});
