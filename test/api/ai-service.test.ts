import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Capability } from "../../gen/ts/switchboard/v1/models_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { PROTOCOLS } from "../support/gateway.js";
import { weatherRoundTrip } from "../support/tool-round-trip.js";

const UPSTREAM_KEY = "sk-upstream-secret-abcdef123456";
const world = gatewayOverFake(() => startOpenAIFake({ apiKey: UPSTREAM_KEY }), (fake) => ({ OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl }));

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hello there" }] };

describe.each(PROTOCOLS)("AIService over %s", (protocol) => {
  it("answers Chat from the vendor, saying who served it", async () => {
    const res = await world.gw.client(protocol).chat(hello);
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.message?.role).toBe(Role.ASSISTANT);
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.provider).toBe("openai");
    expect(res.model).toBe("gpt-4o-mini");
    expect(res.requestId).not.toBe("");
    expect(res.usage?.promptTokens).toBeGreaterThan(0);
    expect(res.usage?.totalTokens).toBe((res.usage?.promptTokens ?? 0) + (res.usage?.completionTokens ?? 0));
  });

  it("streams deltas and ends with one summary carrying usage", async () => {
    let text = "";
    const summaries = [];
    for await (const event of world.gw.client(protocol).chatStream(hello)) {
      if (event.event.case === "delta") text += event.event.value.content;
      if (event.event.case === "summary") summaries.push(event.event.value);
    }
    expect(text).toBe("Echo: hello there");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.usage?.completionTokens).toBe(3);
    expect(summaries[0]!.usageEstimated).toBe(false);
    expect(summaries[0]!.provider).toBe("openai");
  });

  it("lists the vendor's models", async () => {
    const res = await world.gw.client(protocol).listModels({});
    const ids = res.models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]));
    const embedding = res.models.find((m) => m.id === "text-embedding-3-small");
    expect(embedding?.capabilities).toEqual([Capability.EMBEDDINGS]);
  });
});

describe("the OpenAI-compatible wire request", () => {
  it("carries every unified field in the vendor's names", async () => {
    const before = world.fake.chatRequests().length;
    await world.gw.client().chat(
      create(ChatRequestSchema, {
        model: "gpt-4o-mini",
        messages: [
          { role: Role.SYSTEM, content: "be brief" },
          { role: Role.USER, content: "weather in Paris?" },
        ],
        temperature: 0.3,
        topP: 0.9,
        maxTokens: 50,
        stop: ["END"],
        seed: 42n,
        user: "user-7",
        presencePenalty: 0.5,
        vendorOptions: { logprobs: false, model: "must-not-override" },
      }),
    );
    const wire = world.fake.chatRequests()[before]!;
    expect(wire).toMatchObject({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather in Paris?" },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 50,
      stop: ["END"],
      seed: 42,
      user: "user-7",
      presence_penalty: 0.5,
      logprobs: false,
    });
    expect(wire.stream).toBeUndefined();
  });

  it("round-trips a tool call, unary and streamed", async () => {
    const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];
    const { call } = await weatherRoundTrip(world.gw.client("grpc"), { ...hello, tools, toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } });
    const wire = world.fake.chatRequests().at(-1)!;
    expect(wire.messages[1]).toMatchObject({ role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: "get_weather" } }] });
    expect(wire.messages[2]).toEqual({ role: "tool", content: "sunny, 21C", tool_call_id: call.id });

    let fragments = 0;
    let summaryCalls;
    for await (const event of world.gw.client("grpc").chatStream({ ...hello, messages: [{ role: Role.USER, content: "Rome" }], tools })) {
      if (event.event.case === "delta") fragments += event.event.value.toolCalls.length;
      if (event.event.case === "summary") summaryCalls = event.event.value;
    }
    expect(fragments).toBeGreaterThan(2);
    expect(summaryCalls!.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(summaryCalls!.toolCalls).toHaveLength(1);
    expect(JSON.parse(summaryCalls!.toolCalls[0]!.arguments)).toEqual({ query: "Rome" });
  });

  it("passes JSON mode through", async () => {
    const res = await world.gw.client().chat({
      ...hello,
      messages: [{ role: Role.USER, content: "answer in json please" }],
      responseFormat: { type: ResponseFormatType.JSON_OBJECT },
    });
    expect(JSON.parse(res.message!.content)).toEqual({ answer: "Echo: answer in json please" });
    expect(world.fake.chatRequests().at(-1)!.response_format).toEqual({ type: "json_object" });
  });

  it("maps a cut answer to LENGTH", async () => {
    const res = await world.gw.client().chat({ ...hello, maxTokens: 1 });
    expect(res.finishReason).toBe(FinishReason.LENGTH);
    expect(res.message?.content).toBe("Echo:");
  });

  it("embeds texts", async () => {
    const res = await world.gw.client("grpc").embed({ model: "text-embedding-3-small", inputs: ["a", "bb"], dimensions: 4 });
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.embeddings[1]!.values).toHaveLength(4);
    expect(res.provider).toBe("openai");
  });
});
