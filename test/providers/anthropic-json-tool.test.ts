// JSON mode on Claude is a tool whose input is the answer (json-tool.ts). It
// must not change what the caller's tools do: its name is one no caller tool
// has (Anthropic refuses tools that share a name, which the fake enforces),
// a call of a caller tool named like it stays a call, and while the caller
// requires a tool call (tool_choice "required" or a named function) it is not
// offered, so that the required call is what comes back.
import { describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, violation } from "../fakes/anthropic-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";

const UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789abcdef";
/** A user text with this asks the fake to answer with the last tool, the JSON one; otherwise it calls the forced or first tool. */
const ANSWER_IN_JSON = "[json]";
const world = gatewayOverFake(
  () =>
    startAnthropicFake({
      apiKey: UPSTREAM_KEY,
      toolCall: (body) => {
        const last = body.messages.at(-1).content;
        const tools: { name: string }[] = body.tools;
        if (typeof last === "string" && last.includes(ANSWER_IN_JSON)) return { name: tools.at(-1)!.name, input: { a: "x" } };
        return { name: body.tool_choice?.type === "tool" ? body.tool_choice.name : tools[0]!.name, input: { q: "x" } };
      },
    }),
  (fake) => ({ ANTHROPIC_API_KEY: UPSTREAM_KEY, ANTHROPIC_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);

const MODEL = "claude-sonnet-4-5";
const schema = { type: "object", properties: { q: { type: "string" } } };
const callersJsonResponse = [{ name: "json_response", description: "the caller's own", parameters: schema }];
const getWeather = [{ name: "get_weather", description: "weather by city", parameters: schema }];
const jsonObject = { type: ResponseFormatType.JSON_OBJECT };
const jsonSchema = { type: ResponseFormatType.JSON_SCHEMA, schemaName: "answer", schema: { type: "object", properties: { a: { type: "string" } } } };
const ask = (text: string) => [{ role: Role.USER, content: text }];
const toolNamesSent = () => (world.fake.messageRequests().at(-1)!.tools as { name: string }[]).map((tool) => tool.name);

describe("a caller tool named as the JSON tool is", () => {
  const request = { model: MODEL, tools: callersJsonResponse, responseFormat: jsonObject };

  it("sent beside a JSON tool of another name", async () => {
    await world.gw.client().chat({ ...request, messages: ask("weather?") });
    expect(toolNamesSent()).toEqual(["json_response", "json_response_2"]);
    expect(world.fake.messageRequests().at(-1)!.tool_choice).toEqual({ type: "any" });
  });

  it("called as a tool, unary and streamed, not read as the JSON answer", async () => {
    const unary = await world.gw.client().chat({ ...request, messages: ask("weather?") });
    expect(unary.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(unary.message?.content).toBe("");
    expect(unary.message?.toolCalls.map((call) => [call.name, JSON.parse(call.arguments)])).toEqual([["json_response", { q: "x" }]]);
    let text = "";
    const names: string[] = [];
    let finish: FinishReason | undefined;
    for await (const event of world.gw.client().chatStream({ ...request, messages: ask("weather?") })) {
      if (event.event.case === "delta") text += event.event.value.content;
      if (event.event.case === "delta") for (const fragment of event.event.value.toolCalls) if (fragment.name) names.push(fragment.name);
      if (event.event.case === "summary") finish = event.event.value.finishReason;
    }
    expect(text).toBe("");
    expect(names).toEqual(["json_response"]);
    expect(finish).toBe(FinishReason.TOOL_CALLS);
  });

  it("no hindrance to the JSON answer, which the other name carries", async () => {
    const answer = await world.gw.client().chat({ ...request, messages: ask(`weather? ${ANSWER_IN_JSON}`) });
    expect(answer.finishReason).toBe(FinishReason.STOP);
    expect(answer.message?.toolCalls).toEqual([]);
    expect(JSON.parse(answer.message!.content)).toEqual({ a: "x" });
  });
});

describe("while the caller requires a tool call, JSON mode", () => {
  it.each([
    ['"required"', { choice: { case: "mode" as const, value: ToolChoiceMode.REQUIRED } }, { type: "any" }],
    ["a named function", { choice: { case: "functionName" as const, value: "get_weather" } }, { type: "tool", name: "get_weather" }],
  ])("offers no JSON tool with %s: the call comes back as one", async (_, toolChoice, sentChoice) => {
    const answer = await world.gw.client().chat({ model: MODEL, messages: ask("weather in Paris?"), tools: getWeather, toolChoice, responseFormat: jsonSchema });
    const body = world.fake.messageRequests().at(-1)!;
    expect(toolNamesSent()).toEqual(["get_weather"]);
    expect(body.tool_choice).toEqual(sentChoice);
    expect(answer.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(answer.message?.toolCalls.map((call) => call.name)).toEqual(["get_weather"]);
  });

  it("still answers in JSON when tools may be called but need not be", async () => {
    const answer = await world.gw.client().chat({ model: MODEL, messages: ask(`weather? ${ANSWER_IN_JSON}`), tools: getWeather, responseFormat: jsonSchema });
    expect(toolNamesSent()).toEqual(["get_weather", "json_response"]);
    expect(JSON.parse(answer.message!.content)).toEqual({ a: "x" });
  });
});

describe("the Anthropic fake", () => {
  it('refuses tools that share a name, as Anthropic does ("tools: Tool names must be unique.")', () => {
    const tool = { name: "lookup", input_schema: { type: "object" } };
    const body = { model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }], tools: [tool, { ...tool }] };
    expect(violation(body)).toBe("tools: Tool names must be unique.");
    expect(violation({ ...body, tools: [tool] })).toBeUndefined();
  });
});
