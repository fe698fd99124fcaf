// A Claude tool call with no input (a tool without parameters): Anthropic
// streams `input: {}` and one empty `partial_json`, nothing more. Every
// surface ends the call with arguments "{}", as the unary answer has them and
// OpenAI streams them: the OpenAI SDK's stream helper parses the arguments of
// a strict tool and threw "Unexpected end of JSON input" on "".
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResponseFormatType, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const KEY = "sk-ant-fake-000000000001";
const MODEL = "claude-sonnet-4-5";

let anthropic: AnthropicFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  // Every call Claude makes is with no input: the forced tool (JSON mode's too) or the first one.
  anthropic = await startAnthropicFake({ apiKey: KEY, toolCall: (body) => ({ name: body.tool_choice?.type === "tool" ? body.tool_choice.name : body.tools[0].name, input: {} }) });
  gw = await startGateway({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: anthropic.baseUrl }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR });
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await anthropic?.close();
});

const NOW: OpenAI.ChatCompletionFunctionTool = { type: "function", function: { name: "now", strict: true, parameters: { type: "object", properties: {}, additionalProperties: false } } };

describe("a Claude tool call with no input", () => {
  it("streams as arguments \"{}\" through Chat Completions: the OpenAI SDK's stream helper parses them", async () => {
    const stream = sdk.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "what time is it" }], tools: [NOW] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.choices[0]!.message.tool_calls).toEqual([expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "now", arguments: "{}", parsed_arguments: {} }) })]);
    // The same as the unary answer.
    const unary = await sdk.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "what time is it" }], tools: [NOW] });
    expect((unary.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments).toBe("{}");
  });

  it("streams as arguments \"{}\" through the Responses API", async () => {
    const stream = sdk.responses.stream({ model: MODEL, input: "what time is it", tools: [{ type: "function", name: "now", strict: true, parameters: { type: "object", properties: {}, additionalProperties: false } }] });
    const done: string[] = [];
    stream.on("response.function_call_arguments.done", (event) => done.push(event.arguments));
    const final = await stream.finalResponse();
    expect(done).toEqual(["{}"]);
    expect(final.output.filter((item) => item.type === "function_call")).toEqual([expect.objectContaining({ name: "now", arguments: "{}" })]);
  });

  it("streams as arguments \"{}\" on ChatStream, fragments and summary alike; JSON mode's empty answer is \"{}\" too", async () => {
    const fragments: string[] = [];
    let summary;
    for await (const event of gw.client().chatStream({ model: MODEL, messages: [{ role: Role.USER, content: "what time is it" }], tools: [{ name: "now", parameters: { type: "object", properties: {} } }] })) {
      if (event.event.case === "delta") fragments.push(...event.event.value.toolCalls.map((call) => call.argumentsFragment));
      if (event.event.case === "summary") summary = event.event.value;
    }
    expect(fragments.join("")).toBe("{}");
    expect(summary!.toolCalls).toEqual([expect.objectContaining({ name: "now", arguments: "{}" })]);

    let text = "";
    for await (const event of gw.client().chatStream({ model: MODEL, messages: [{ role: Role.USER, content: "nothing" }], responseFormat: { type: ResponseFormatType.JSON_OBJECT } })) {
      if (event.event.case === "delta") text += event.event.value.content;
    }
    expect(text).toBe("{}");
  });
});
