// The vendor rules a strict check of the gateway found unmet, each against a
// fake that enforces the vendor's documented rule (test/fakes, sources cited
// there): Moonshot's stream usage and overload, JSON schemas to vendors with
// JSON mode only, per-vendor parameter ranges and refused parameters (every
// change reported to the caller), DeepSeek's cache hits, OpenAI's refusals,
// Zhipu's user_id. DashScope's increments and ERNIE v1's rules are in
// dashscope.test.ts and qianfan-v1.test.ts, with their fakes.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { FinishReason, ResponseFormatType, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { moonshotOverloaded, startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type Protocol, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { drain } from "../support/streams.js";
import { restChat, restStream } from "./rest.js";

let openai: OpenAIFake;
let deepseek: OpenAIFake;
let moonshot: OpenAIFake;
let zhipu: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;

const user = (content: string) => [{ role: Role.USER, content }];
const said = (adjustments: { parameter: string; kind: AdjustmentKind; requested: string; sent: string }[]) =>
  adjustments.map((a) => `${a.parameter}=${AdjustmentKind[a.kind]!.toLowerCase()}(${a.requested}->${a.sent})`);

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai", models: ["gpt-4o-mini", "o3", "gpt-5-mini"] });
  deepseek = await startOpenAIFake({ apiKey: "sk-deepseek", vendor: "deepseek", cachedTokens: 3 });
  moonshot = await startOpenAIFake({ apiKey: "sk-moonshot", vendor: "moonshot" });
  zhipu = await startOpenAIFake({ apiKey: "sk-zhipu", vendor: "zhipu" });
  anthropic = await startAnthropicFake({ apiKey: "sk-anthropic" });
  gw = await startGateway(
    {
      OPENAI_API_KEY: "sk-openai",
      OPENAI_BASE_URL: openai.baseUrl,
      DEEPSEEK_API_KEY: "sk-deepseek",
      DEEPSEEK_BASE_URL: deepseek.baseUrl,
      MOONSHOT_API_KEY: "sk-moonshot",
      MOONSHOT_BASE_URL: moonshot.baseUrl,
      ZHIPU_API_KEY: "sk-zhipu",
      ZHIPU_BASE_URL: zhipu.baseUrl,
      ANTHROPIC_API_KEY: "sk-anthropic",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
    },
    {
      traffic: { retry: { max_attempts: 1 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      // One route that refuses what its model cannot honour; the rest degrade (the default).
      routes: [{ model: "glm-4-plus", provider: "zhipu", when_unsupported: "refuse" }],
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai, deepseek, moonshot, zhipu, anthropic].map((fake) => fake?.close()));
});

describe("Moonshot", () => {
  it("streams usage inside the finishing choice, and the summary carries it (not an estimate)", async () => {
    const request = { model: "kimi-k2", messages: user("hello there") };
    const unary = await gw.client().chat(request);
    const { summaries } = await drain(gw.client("grpc").chatStream(request));
    expect(summaries[0]!.usageEstimated).toBe(false);
    expect(summaries[0]!.usage).toEqual(unary.usage);
    // Tool streams too.
    const tools = await drain(gw.client().chatStream({ ...request, tools: [{ name: "get_weather" }] }));
    expect(tools.summaries[0]!).toMatchObject({ finishReason: FinishReason.TOOL_CALLS, usageEstimated: false });
  });

  it("takes engine_overloaded_error (a 429) as the vendor overloaded: Unavailable, and the key is not benched", async () => {
    // Default key-pool settings: a rate-limited key would be cooled down for seconds.
    const own = await startGateway({ MOONSHOT_API_KEY: "sk-moonshot", MOONSHOT_BASE_URL: moonshot.baseUrl }, { traffic: { retry: { max_attempts: 1 } } });
    try {
      moonshot.enqueue(moonshotOverloaded());
      const err = await failure(own.client().chat({ model: "kimi-k2", messages: user("hi") }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_OVERLOADED");
      expect(err.rawMessage).toContain("The engine is currently overloaded");
      // The same key serves the very next call.
      expect((await own.client().chat({ model: "kimi-k2", messages: user("hi") })).message?.content).toBe("Echo: hi");
    } finally {
      await own.stop();
    }
  });
});

describe("JSON schemas to vendors with JSON mode only", () => {
  const schema = { type: ResponseFormatType.JSON_SCHEMA, schemaName: "answer", schema: { type: "object", properties: { answer: { type: "string" } } } };

  it.each([
    ["deepseek-chat", () => deepseek, []],
    ["kimi-k2", () => moonshot, []],
    // GLM-4.5 thinks unless told not to, and is told not to first.
    ["glm-4.5", () => zhipu, ["reasoning=converted(->off)"]],
  ] as const)("degrade to JSON mode for %s, the schema in a system message, and say so", async (model, fake, before) => {
    const res = await gw.client().chat({ model, messages: user("weather in Paris?"), responseFormat: schema });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: weather in Paris?" });
    expect(said(res.adjustments)).toEqual([...before, "response_format=degraded(json_schema->json_object)"]);
    const wire = fake().chatRequests().at(-1)!;
    expect(wire.response_format).toEqual({ type: "json_object" });
    expect(wire.messages[0]).toEqual({ role: "system", content: `Answer with a JSON object that follows this JSON schema:\n${JSON.stringify(schema.schema)}` });
  });

  it("refuse with Unimplemented on a route whose policy is refuse, without calling the vendor", async () => {
    const before = zhipu.chatRequests().length;
    const err = await failure(gw.client().chat({ model: "glm-4-plus", messages: user("json please"), responseFormat: schema }));
    expect(err.code).toBe(Code.Unimplemented);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNSUPPORTED_BY_PROVIDER");
    expect(err.rawMessage).toContain("glm-4-plus does not take JSON schemas");
    expect(zhipu.chatRequests().length).toBe(before);
    const rest = await restChat(gw, { model: "glm-4-plus", messages: [{ role: "user", content: "json" }], response_format: { type: "json_schema", json_schema: { name: "a", schema: {} } } });
    expect(rest.status).toBe(501);
  });
});

describe("parameter ranges and refused parameters, fitted per model and reported", () => {
  it.each<Protocol>(["connect", "grpc"])("a temperature of 1.6 reaches Zhipu as 1.0, and the answer says so (%s)", async (protocol) => {
    const res = await gw.client(protocol).chat({ model: "glm-4.5", messages: user("hello"), temperature: 1.6 });
    expect(res.message?.content).toBe("Echo: hello");
    expect(zhipu.chatRequests().at(-1)!).toMatchObject({ temperature: 1, thinking: { type: "disabled" } });
    // GLM-4.5 thinks unless told not to: a call that asks for no reasoning is told not to, and says so first.
    expect(res.adjustments).toEqual([
      expect.objectContaining({ parameter: "reasoning", kind: AdjustmentKind.CONVERTED, requested: "", sent: "off" }),
      expect.objectContaining({ parameter: "temperature", kind: AdjustmentKind.CLAMPED, requested: "1.6", sent: "1.0", reason: "glm-4.5 takes temperature from 0 to 1" }),
    ]);
    const { summaries } = await drain(gw.client(protocol).chatStream({ model: "glm-4.5", messages: user("hello"), temperature: 1.6 }));
    expect(said(summaries[0]!.adjustments)).toEqual(["reasoning=converted(->off)", "temperature=clamped(1.6->1.0)"]);
  });

  it("says so on REST in the x-switchboard-adjusted header, streamed or not", async () => {
    const body = { model: "glm-4.5", messages: [{ role: "user", content: "hello" }], temperature: 1.6 };
    const unary = await restChat(gw, body);
    expect(unary.status).toBe(200);
    expect(unary.headers.get("x-switchboard-adjusted")).toBe("reasoning=converted(unset->off); temperature=clamped(1.6->1.0)");
    const streamed = await restStream(gw, body);
    expect(streamed.headers.get("x-switchboard-adjusted")).toBe("reasoning=converted(unset->off); temperature=clamped(1.6->1.0)");
    // GLM-4.5 is told not to think whenever the call asks for no reasoning; a model without reasoning gets no header.
    expect((await restChat(gw, { ...body, temperature: 0.5 })).headers.get("x-switchboard-adjusted")).toBe("reasoning=converted(unset->off)");
    expect((await restChat(gw, { ...body, model: "glm-4-plus", temperature: 0.5 })).headers.get("x-switchboard-adjusted")).toBeNull();
  });

  it.each<Protocol>(["connect", "grpc"])("an OpenAI reasoning model gets no temperature and no stop, and max_completion_tokens (%s)", async (protocol) => {
    const res = await gw.client(protocol).chat({ model: "o3", messages: user("hello"), temperature: 0.3, stop: ["END"], maxTokens: 100 });
    expect(res.message?.content).toBe("Echo: hello");
    const wire = openai.chatRequests().at(-1)!;
    expect(wire).toMatchObject({ model: "o3", max_completion_tokens: 100 });
    expect(wire.temperature).toBeUndefined();
    expect(wire.stop).toBeUndefined();
    expect(said(res.adjustments)).toEqual(["stop=dropped([\"END\"]->)", "temperature=dropped(0.3->)"]);
    expect(res.adjustments[0]!.reason).toBe("o3 refuses stop");
  });

  it("and on REST the header lists both, with why", async () => {
    const res = await restChat(gw, { model: "gpt-5-mini", messages: [{ role: "user", content: "hello" }], temperature: 0.3, stop: "END" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-adjusted")).toBe("stop=dropped(gpt-5-mini refuses stop); temperature=dropped(gpt-5-mini takes only the default temperature 1.0)");
  });

  it("recent Claude models get temperature or top_p, not both", async () => {
    const res = await gw.client().chat({ model: "claude-haiku-4-5", messages: user("hello"), temperature: 0.5, topP: 0.9 });
    expect(res.message?.content).toBe("Echo: hello");
    const wire = anthropic.messageRequests().at(-1)!;
    expect(wire.temperature).toBe(0.5);
    expect(wire.top_p).toBeUndefined();
    expect(said(res.adjustments)).toEqual(["top_p=dropped(0.9->)"]);
  });

  it("Zhipu gets the end user as user_id, and no seed or penalties it does not document", async () => {
    const res = await gw.client().chat({ model: "glm-4.5", messages: user("hello"), user: "user-7", seed: 42n, presencePenalty: 0.5, frequencyPenalty: 0.5 });
    expect(res.message?.content).toBe("Echo: hello");
    const wire = zhipu.chatRequests().at(-1)!;
    expect(wire.user_id).toBe("user-7");
    for (const field of ["user", "seed", "presence_penalty", "frequency_penalty"]) expect(wire[field], field).toBeUndefined();
    expect(res.adjustments.map((a) => a.parameter)).toEqual(["reasoning", "seed", "presence_penalty", "frequency_penalty"]);
  });

  it("DeepSeek and Moonshot get no seed, which they do not document", async () => {
    for (const [model, fake] of [["deepseek-chat", deepseek], ["moonshot-v1-8k", moonshot]] as const) {
      const res = await gw.client().chat({ model, messages: user("hello"), seed: 42n });
      expect(fake.chatRequests().at(-1)!.seed, model).toBeUndefined();
      expect(said(res.adjustments)).toEqual(["seed=dropped(42->)"]);
    }
  });
});

describe("DeepSeek's cache hits", () => {
  it("count as cached tokens, unary and streamed (prompt_cache_hit_tokens)", async () => {
    const res = await gw.client().chat({ model: "deepseek-chat", messages: user("hello there") });
    expect(res.usage).toMatchObject({ cachedTokens: 3 });
    const { summaries } = await drain(gw.client().chatStream({ model: "deepseek-chat", messages: user("hello there") }));
    expect(summaries[0]!.usage).toMatchObject({ cachedTokens: 3 });
  });
});

describe("OpenAI's refusals", () => {
  it("come back as a refusal with its own finish reason, unary and streamed", async () => {
    const res = await gw.client().chat({ model: "gpt-4o-mini", messages: user("[refuse] do something bad") });
    expect(res.finishReason).toBe(FinishReason.REFUSAL);
    expect(res.message).toMatchObject({ content: "", refusal: "I'm sorry, I can't help with that." });
    let refusal = "";
    const summaries = [];
    for await (const event of gw.client("grpc").chatStream({ model: "gpt-4o-mini", messages: user("[refuse] again") })) {
      if (event.event.case === "delta") refusal += event.event.value.refusal;
      if (event.event.case === "summary") summaries.push(event.event.value);
    }
    expect(refusal).toBe("I'm sorry, I can't help with that.");
    expect(summaries[0]!.finishReason).toBe(FinishReason.REFUSAL);
  });

  it("from Anthropic (stop_reason refusal) have the same finish reason; on REST, content_filter, as no refusal text comes with them", async () => {
    const res = await gw.client().chat({ model: "claude-haiku-4-5", messages: user("[refuse] do something bad") });
    expect(res.finishReason).toBe(FinishReason.REFUSAL);
    const { summaries } = await drain(gw.client("grpc").chatStream({ model: "claude-haiku-4-5", messages: user("[refuse] again") }));
    expect(summaries[0]!.finishReason).toBe(FinishReason.REFUSAL);
    const rest = await restChat(gw, { model: "claude-haiku-4-5", messages: [{ role: "user", content: "[refuse] please" }] });
    expect(rest.json.choices[0]).toMatchObject({ finish_reason: "content_filter", message: { refusal: null } });
  });

  it("reach REST callers as OpenAI words them: `refusal`, finish_reason stop", async () => {
    const res = await restChat(gw, { model: "gpt-4o-mini", messages: [{ role: "user", content: "[refuse] please" }] });
    expect(res.json.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: null, refusal: "I'm sorry, I can't help with that." } });
    const streamed = await restStream(gw, { model: "gpt-4o-mini", messages: [{ role: "user", content: "[refuse] please" }] });
    const refusal = streamed.chunks.map((chunk) => chunk.choices[0]?.delta?.refusal ?? "").join("");
    expect(refusal).toBe("I'm sorry, I can't help with that.");
    expect(streamed.chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
  });
});
