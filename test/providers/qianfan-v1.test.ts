import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Capability } from "../../gen/ts/switchboard/v1/models_pb.js";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { createQianfanV1Adapter } from "../../src/providers/qianfan-v1/create-adapter.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startQianfanFake } from "../fakes/qianfan-v1-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failureRecordedIn } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { abandonedByCancel } from "../support/streams.js";

// Shaped like Baidu's: 24 and 32 characters, no prefix the generic redaction would catch.
const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";

const world = gatewayOverFake(
  () => startQianfanFake({ apiKey: AK, secretKey: SK }),
  // Only these three variables: the must-show zero-config path.
  (fake) => ({ QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);
/** Every error message a caller saw, scanned for secrets at the end. */
const seenErrors: string[] = [];

const hello = { model: "ernie-4.0-8k", messages: [{ role: Role.USER, content: "hello there" }] };

const failure = failureRecordedIn(seenErrors);

async function streamText(request: Parameters<ReturnType<TestGateway["client"]>["chatStream"]>[0], protocol: "grpc" | "connect" = "connect") {
  let text = "";
  let reasoning = "";
  const summaries = [];
  const toolFragments = [];
  for await (const event of world.gw.client(protocol).chatStream(request)) {
    if (event.event.case === "delta") {
      text += event.event.value.content;
      reasoning += event.event.value.reasoningContent;
      toolFragments.push(...event.event.value.toolCalls);
    }
    if (event.event.case === "summary") summaries.push(event.event.value);
  }
  return { text, reasoning, summaries, toolFragments };
}

describe("Qianfan v1 through the gateway", () => {
  it.each(["connect", "grpc"] as const)("answers ernie-* over %s with only QIANFAN_AK/SK/BASE_URL set", async (protocol) => {
    const res = await world.gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("qianfan");
    expect(res.model).toBe("ernie-4.0-8k");
    expect(res.usage?.promptTokens).toBeGreaterThan(0);
    expect(res.usage?.completionTokens).toBe(3);
    expect(world.fake.chatRequests().at(-1)!.endpoint).toBe("completions_pro");
  });

  it("streams the same text as the unary answer, then one summary with the last chunk's usage", async () => {
    const unary = await world.gw.client().chat(hello);
    const { text, summaries } = await streamText(hello, "grpc");
    expect(text).toBe(unary.message!.content);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.usage).toMatchObject({ promptTokens: unary.usage!.promptTokens, completionTokens: 3 });
    expect(summaries[0]!.usageEstimated).toBe(false);
    expect(world.fake.chatRequests().at(-1)!.body.stream).toBe(true);
  });

  it("puts system prompts in `system`, merges same-role turns, and translates every field", async () => {
    await world.gw.client().chat({
      model: "ernie-lite-8k",
      messages: [
        { role: Role.SYSTEM, content: "be brief" },
        { role: Role.USER, content: "first" },
        { role: Role.USER, content: "second" },
        { role: Role.ASSISTANT, content: "ok" },
        { role: Role.SYSTEM, content: "and polite" },
        { role: Role.USER, content: "third" },
      ],
      temperature: 0.3,
      topP: 0.8,
      maxTokens: 50,
      stop: ["END"],
      user: "user-7",
      presencePenalty: 0.5,
      vendorOptions: { disable_search: true },
    });
    const wire = world.fake.chatRequests().at(-1)!;
    expect(wire.endpoint).toBe("ernie-lite-8k");
    expect(wire.body).toEqual({
      system: "be brief\n\nand polite",
      messages: [
        { role: "user", content: "first\n\nsecond" },
        { role: "assistant", content: "ok" },
        { role: "user", content: "third" },
      ],
      temperature: 0.15,
      top_p: 0.8,
      max_output_tokens: 50,
      stop: ["END"],
      user_id: "user-7",
      penalty_score: 1.625,
      disable_search: true,
    });
  });

  it("keeps temperature 0 valid for ERNIE, which takes (0, 1]", async () => {
    await world.gw.client().chat({ ...hello, temperature: 0 });
    expect(world.fake.chatRequests().at(-1)!.body.temperature).toBe(0.01);
    await world.gw.client().chat({ ...hello, temperature: 2 });
    expect(world.fake.chatRequests().at(-1)!.body.temperature).toBe(1);
  });

  it("rejects conversations ERNIE cannot take, saying why, without calling the vendor", async () => {
    const before = world.fake.requests.length;
    const cases: [typeof hello.messages, RegExp][] = [
      [[{ role: Role.ASSISTANT, content: "hi" }, { role: Role.USER, content: "hello" }], /must start with a user message.*messages\[0\]/],
      [[{ role: Role.USER, content: "hello" }, { role: Role.ASSISTANT, content: "hi" }], /must end with a user or tool message.*messages\[1\]/],
      [[{ role: Role.SYSTEM, content: "only a system prompt" }], /needs a user message/],
    ];
    for (const [messages, reason] of cases) {
      const err = await failure(world.gw.client().chat({ model: "ernie-4.0-8k", messages }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(reason);
      expect(err.rawMessage).toContain('provider "qianfan"');
    }
    const twoCalls = await failure(
      world.gw.client().chat({
        model: "ernie-4.0-8k",
        messages: [
          { role: Role.USER, content: "weather in Paris and Rome?" },
          { role: Role.ASSISTANT, toolCalls: [{ id: "c1", name: "w", arguments: "{}" }, { id: "c2", name: "w", arguments: "{}" }] },
          { role: Role.TOOL, toolCallId: "c1", content: "sunny" },
        ],
      }),
    );
    expect(twoCalls.code).toBe(Code.InvalidArgument);
    expect(twoCalls.rawMessage).toMatch(/one function call per assistant turn/);
    expect(world.fake.requests.length).toBe(before);
  });

  it("round-trips a tool call as a v1 function call, unary and streamed", async () => {
    const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];
    const first = await world.gw.client().chat({ ...hello, messages: [{ role: Role.USER, content: "Paris" }], tools });
    expect(first.finishReason).toBe(FinishReason.TOOL_CALLS);
    const call = first.message!.toolCalls[0]!;
    expect(call.id).toMatch(/^call_0_[0-9a-z]+$/);
    expect(call.name).toBe("get_weather");
    expect(JSON.parse(call.arguments)).toEqual({ query: "Paris" });
    // function_call.thoughts, the model's reasons for the call, reach the caller as reasoning.
    expect(first.message!.reasoningContent).toBe("the user asks about Paris");
    expect(world.fake.chatRequests().at(-1)!.body.functions).toEqual([tools[0]]);

    const second = await world.gw.client().chat({
      ...hello,
      tools,
      messages: [{ role: Role.USER, content: "Paris" }, first.message!, { role: Role.TOOL, toolCallId: call.id, content: "sunny, 21C" }],
    });
    expect(second.message?.content).toBe("Tool result: sunny, 21C");
    expect(second.finishReason).toBe(FinishReason.STOP);
    const wire = world.fake.chatRequests().at(-1)!.body;
    expect(wire.messages[1]).toEqual({ role: "assistant", content: "", function_call: { name: "get_weather", arguments: call.arguments } });
    expect(wire.messages[2]).toEqual({ role: "function", name: "get_weather", content: JSON.stringify({ result: "sunny, 21C" }) });

    const streamed = await streamText({ ...hello, messages: [{ role: Role.USER, content: "Rome" }], tools, toolChoice: { choice: { case: "functionName", value: "get_weather" } } });
    expect(world.fake.chatRequests().at(-1)!.body.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(streamed.summaries[0]!.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(streamed.summaries[0]!.toolCalls).toHaveLength(1);
    expect(JSON.parse(streamed.summaries[0]!.toolCalls[0]!.arguments)).toEqual({ query: "Rome" });
    expect(streamed.reasoning).toBe("the user asks about Rome");
  });

  it("describes a tool without a description by its name, as functions[].description is required", async () => {
    const tools = [{ name: "get_weather", parameters: { type: "object", properties: { query: { type: "string" } } } }];
    const res = await world.gw.client().chat({ ...hello, messages: [{ role: Role.USER, content: "Paris" }], tools });
    expect(res.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(world.fake.chatRequests().at(-1)!.body.functions).toEqual([{ name: "get_weather", description: "get_weather", parameters: tools[0]!.parameters }]);
  });

  it("clamps max_tokens above the model's most (2,048 for ERNIE-4.0-8K) to it, and says so", async () => {
    const res = await world.gw.client().chat({ ...hello, maxTokens: 4000 });
    expect(res.message?.content).toBe("Echo: hello there");
    expect(world.fake.chatRequests().at(-1)!.body.max_output_tokens).toBe(2048);
    expect(res.adjustments).toEqual([expect.objectContaining({ parameter: "max_tokens", requested: "4000", sent: "2048", reason: "ernie-4.0-8k writes at most 2048 tokens" })]);
  });

  it("asks for JSON with the string response_format v1 expects", async () => {
    const res = await world.gw.client().chat({ ...hello, responseFormat: { type: ResponseFormatType.JSON_OBJECT } });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: hello there" });
    expect(world.fake.chatRequests().at(-1)!.body.response_format).toBe("json_object");
  });

  it("maps a cut answer to LENGTH", async () => {
    const res = await world.gw.client().chat({ ...hello, maxTokens: 2 });
    expect(res.finishReason).toBe(FinishReason.LENGTH);
    expect(res.message?.content).toBe("Echo: hello");
  });

  it("sends an unknown ernie model to its lower-case endpoint, and a missing one becomes NotFound", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, model: "ernie-X1-Turbo-32K" }));
    expect(world.fake.chatRequests().at(-1)!.endpoint).toBe("ernie-x1-turbo-32k");
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("Unsupported openapi method");
  });
});

describe("Qianfan v1 access tokens", () => {
  it("exchanges the key pair once and reuses the token across calls", async () => {
    await world.gw.client().chat(hello);
    const tokensBefore = world.fake.tokenRequests().length;
    await world.gw.client().chat(hello);
    await streamText(hello);
    await world.gw.client().embed({ model: "qianfan/embedding-v1", inputs: ["x"] });
    expect(world.fake.tokenRequests().length).toBe(tokensBefore);
    const tokenRequest = new URL(world.fake.tokenRequests()[0]!.path, "http://x");
    expect(world.fake.tokenRequests()[0]!.method).toBe("POST");
    expect(Object.fromEntries(tokenRequest.searchParams)).toEqual({ grant_type: "client_credentials", client_id: AK, client_secret: SK });
    const used = new Set(world.fake.chatRequests().slice(-2).map((r) => r.token));
    expect(used).toEqual(new Set([world.fake.issuedTokens.at(-1)]));
  });

  it("shares one token exchange among concurrent first calls", async () => {
    const local = await startGateway({ QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: world.fake.baseUrl });
    try {
      const before = world.fake.tokenRequests().length;
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => local.client().chat({ ...hello, messages: [{ role: Role.USER, content: `q${i}` }] })));
      expect(answers.map((a) => a.message?.content)).toEqual(Array.from({ length: 8 }, (_, i) => `Echo: q${i}`));
      expect(world.fake.tokenRequests().length).toBe(before + 1);
    } finally {
      await local.stop();
    }
  });

  it("refreshes an expired token (111) and retries the call once, unary and streamed", async () => {
    for (const run of [() => world.gw.client().chat(hello), () => streamText(hello)]) {
      world.fake.expireTokens();
      const tokensBefore = world.fake.tokenRequests().length;
      const chatsBefore = world.fake.chatRequests().length;
      await run();
      expect(world.fake.tokenRequests().length).toBe(tokensBefore + 1);
      const [rejected, retried] = world.fake.chatRequests().slice(chatsBefore);
      expect(world.fake.chatRequests().length).toBe(chatsBefore + 2);
      expect(retried!.token).not.toBe(rejected!.token);
      expect(retried!.token).toBe(world.fake.issuedTokens.at(-1));
    }
  });

  it("refreshes on a scripted 111 in an HTTP 200 body as well", async () => {
    await world.gw.client().chat(hello);
    const tokensBefore = world.fake.tokenRequests().length;
    world.fake.enqueue({ kind: "error", status: 200, body: { error_code: 111, error_msg: "Access token expired" } });
    const res = await world.gw.client().chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(world.fake.tokenRequests().length).toBe(tokensBefore + 1);
  });

  it("refreshes a token before it expires, not after", async () => {
    let now = Date.now();
    const adapter = createQianfanV1Adapter({ name: "qianfan", baseUrl: world.fake.baseUrl, now: () => now });
    const credential = createCredential("qianfan/clock", AK, SK);
    const call = { params: create(ChatRequestSchema, hello), upstreamModel: "ernie-4.0-8k", credential, signal: AbortSignal.timeout(5_000) };
    try {
      const before = world.fake.tokenRequests().length;
      await adapter.chat(call);
      now += 29 * 24 * 3_600_000; // 29 of the token's 30 days
      await adapter.chat(call);
      expect(world.fake.tokenRequests().length).toBe(before + 1);
      now += 23.5 * 3_600_000; // within the last hour
      await adapter.chat(call);
      expect(world.fake.tokenRequests().length).toBe(before + 2);
    } finally {
      await adapter.close();
    }
  });

  it("gives up after a second rejection: Unavailable naming the credential", async () => {
    world.fake.revokeAccess(true);
    try {
      const before = world.fake.tokenRequests().length;
      const err = await failure(world.gw.client().chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/provider "qianfan" rejected the gateway's credential "qianfan\/env"/);
      expect(world.fake.tokenRequests().length).toBe(before + 1);
    } finally {
      world.fake.revokeAccess(false);
    }
  });

  it("reports a key pair the token endpoint refuses as Unavailable, naming provider and credential only", async () => {
    const wrong = await startGateway({ QIANFAN_AK: AK, QIANFAN_SK: "wrong-secret-key-000000000000000", QIANFAN_BASE_URL: world.fake.baseUrl });
    try {
      const err = await failure(wrong.client().chat(hello));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/provider "qianfan" rejected the gateway's credential "qianfan\/env"/);
      const streamErr = await failure(
        (async () => {
          for await (const _ of wrong.client().chatStream(hello)) void _;
        })(),
      );
      expect(streamErr.code).toBe(Code.Unavailable);
      expect(wrong.logs.text).not.toContain("wrong-secret-key");
      expect(wrong.logs.text).not.toContain(AK);
    } finally {
      await wrong.stop();
    }
  });
});

describe("Qianfan v1 errors inside HTTP 200 bodies", () => {
  it.each([
    [18, "Open api qps request limit reached", Code.ResourceExhausted, /rate limiting: Open api qps request limit reached/],
    [336501, "Rpm limit reached", Code.ResourceExhausted, /rate limiting/],
    [17, "Open api daily request limit reached", Code.ResourceExhausted, /quota exhausted: Open api daily request limit reached/],
    // The SDK's TotalRequestLimitReached, and a code the table does not know that says what it is: quotas, not answers to fail over from.
    [19, "Open api total request limit reached", Code.ResourceExhausted, /quota exhausted: Open api total request limit reached/],
    [336599, "Daily quota of this app is used up", Code.ResourceExhausted, /quota exhausted: Daily quota of this app is used up/],
    // No permission for the endpoint the caller picked (by model name): the caller's, not the key's.
    [336004, "Authority check failed", Code.InvalidArgument, /Authority check failed/],
    [336100, "Server high load, please try again later", Code.Unavailable, /unavailable: Server high load/],
    [2, "Service temporarily unavailable", Code.Unavailable, /unavailable/],
    [336003, "the max length of current question is 4800", Code.InvalidArgument, /the max length of current question is 4800/],
  ])("error_code %i becomes the right code with the vendor's words", async (errorCode, errorMsg, code, message) => {
    await world.gw.client().chat(hello); // a cached token, so the script hits the chat call
    world.fake.enqueue({ kind: "error", status: 200, body: { error_code: errorCode, error_msg: errorMsg } });
    const err = await failure(world.gw.client().chat(hello));
    expect(err.code).toBe(code);
    expect(err.rawMessage).toMatch(message);
  });

  it("passes the vendor's own validation message through as InvalidArgument", async () => {
    const err = await failure(world.gw.client().chat({ ...hello, vendorOptions: { penalty_score: 5 } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("penalty_score must be in [1, 2]");
  });

  it("reads a stream request's JSON error body as an error, not as an empty stream", async () => {
    await world.gw.client().chat(hello);
    world.fake.enqueue({ kind: "error", status: 200, body: { error_code: 336100, error_msg: "Server high load" } });
    const err = await failure(streamText(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("Server high load");
  });

  it("names a stream that closes before is_end as cut short", async () => {
    await world.gw.client().chat(hello);
    const chunk = { id: "as-1", result: "Echo:", is_end: false, usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 } };
    world.fake.enqueue({ kind: "error", status: 200, headers: { "content-type": "text/event-stream" }, body: `data: ${JSON.stringify(chunk)}\n\n` });
    const err = await failure(streamText(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("ended the stream before the answer was complete");
  });
});

describe("Qianfan v1 streams and the caller", () => {
  it("stops the vendor's stream when the client cancels", async () => {
    const abandoned = await abandonedByCancel(world.fake, { chunkDelayMs: 30, extraWords: 200 }, (signal) => world.gw.client().chatStream(hello, { signal }), 2);
    expect(abandoned.path).toContain("/chat/completions_pro");
  });
});

describe("Qianfan v1 embeddings and models", () => {
  it("embeds through the endpoint of the named model", async () => {
    // Qianfan's embedding models are routed to it by name, with no provider prefix.
    const res = await world.gw.client("grpc").embed({ model: "bge-large-zh", inputs: ["a", "bb"] });
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.embeddings[1]!.values).toHaveLength(8);
    expect(res.usage?.promptTokens).toBe(2);
    expect(res.provider).toBe("qianfan");
    expect(world.fake.requests.at(-1)!.path).toMatch(/^\/rpc\/2\.0\/ai_custom\/v1\/wenxinworkshop\/embeddings\/bge_large_zh\?access_token=/);
  });

  it("refuses dimensions, which v1 embeddings cannot honour", async () => {
    const err = await failure(world.gw.client().embed({ model: "qianfan/embedding-v1", inputs: ["a"], dimensions: 4 }));
    expect(err.code).toBe(Code.InvalidArgument);
  });

  it("lists the models of the endpoint table", async () => {
    const res = await world.gw.client().listModels({ provider: "qianfan" });
    const ids = res.models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["ernie-4.0-8k", "ernie-3.5-8k", "ernie-speed-128k", "embedding-v1", "tao-8k"]));
    expect(res.models.find((m) => m.id === "embedding-v1")?.capabilities).toEqual([Capability.EMBEDDINGS]);
  });
});

describe("Qianfan secrets", () => {
  it("never shows the AK, the SK or an access token in errors or logs", () => {
    expect(seenErrors.length).toBeGreaterThan(10);
    expect(world.fake.issuedTokens.length).toBeGreaterThan(2);
    for (const text of [world.gw.logs.text, ...seenErrors]) {
      expect(text).not.toContain(AK);
      expect(text).not.toContain(SK);
      for (const token of world.fake.issuedTokens) expect(text).not.toContain(token);
      expect(text).not.toContain("access_token=");
    }
  });
});

describe("Qianfan configuration from the environment", () => {
  it("QIANFAN_AK + QIANFAN_SK select v1 at aip.baidubce.com and route ernie-*", () => {
    const config = buildConfig({}, { QIANFAN_AK: "ak", QIANFAN_SK: "sk" }, "env");
    expect(config.providers).toEqual([
      expect.objectContaining({
        name: "qianfan",
        dialect: "qianfan-v1",
        baseUrl: "https://aip.baidubce.com",
        keys: [expect.objectContaining({ secret: expect.objectContaining({ raw: "env:QIANFAN_AK" }), secondary: expect.objectContaining({ raw: "env:QIANFAN_SK" }) })],
      }),
    ]);
    expect(config.routes).toContainEqual({ model: "ernie-*", provider: "qianfan" });
  });

  it("QIANFAN_API_KEY keeps the OpenAI-compatible v2 API, with QIANFAN_APPID as the appid header", () => {
    const config = buildConfig({}, { QIANFAN_API_KEY: "bce-v3/ALTAK-x/y", QIANFAN_AK: "ak", QIANFAN_SK: "sk", QIANFAN_APPID: "app-42" }, "env");
    expect(config.providers[0]).toMatchObject({ name: "qianfan", dialect: "openai", baseUrl: "https://qianfan.baidubce.com/v2", headers: { appid: "app-42" } });
  });

  it("stops on half a key pair", () => {
    expect(() => buildConfig({}, { QIANFAN_AK: "ak" }, "env")).toThrow(ConfigError);
    expect(() => buildConfig({}, { QIANFAN_AK: "ak" }, "env")).toThrow(/QIANFAN_SK.*QIANFAN_AK/);
  });

  it("a declared provider with dialect qianfan-v1 gets the v1 base URL", () => {
    const config = buildConfig({ providers: { qianfan: { dialect: "qianfan-v1", keys: [{ secret: "env:AK", secondary: "env:SK", weight: 1 }] } } }, {}, "file");
    expect(config.providers[0]).toMatchObject({ dialect: "qianfan-v1", baseUrl: "https://aip.baidubce.com" });
  });
});
