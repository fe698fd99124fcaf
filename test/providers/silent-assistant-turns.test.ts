// An assistant turn with no text (content null or "") or only OpenAI's `refusal` is common in a
// conversation begun on OpenAI, which takes it. Gemini refuses a turn without parts and ERNIE v1 an
// empty message, and neither has a field for a refusal: the refusal goes as the model's text, and a
// turn saying nothing and calling nothing is left out, its neighbours merged, so each vendor's fake
// (which enforces the vendor's documented rules) takes the conversation. A conversation of system
// messages alone has no turn to send: Gemini's is refused before the vendor is asked, as ERNIE's is.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { startQianfanFake } from "../fakes/qianfan-v1-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";

const GEMINI_KEY = "AIzaSySilentTurns0123456789abcdefXYZ";
const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";

/** A conversation from an OpenAI client: a turn with content null, a refusal, a turn whose only text part is empty. */
const conversation = [
  { role: Role.USER, content: "hi" },
  { role: Role.ASSISTANT },
  { role: Role.USER, content: "are you there?" },
  { role: Role.ASSISTANT, refusal: "I cannot help with that." },
  { role: Role.USER, content: "why not?" },
  { role: Role.ASSISTANT, parts: [{ part: { case: "text" as const, value: "" } }] },
  { role: Role.USER, content: "ok" },
];

describe("Gemini", () => {
  const world = gatewayOverFake(
    () => startGeminiFake({ apiKey: GEMINI_KEY }),
    (fake) => ({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.baseUrl }),
    SCRIPTED_FAILURES_REACH_THE_CALLER,
  );
  const MODEL = "gemini-2.5-flash";

  it("sends a refusal as the model's text and leaves out turns that say nothing, merging the user turns around them", async () => {
    const res = await world.gw.client().chat({ model: MODEL, messages: conversation });
    expect(res.message?.content).toBe("Echo: why not? ok");
    expect(world.fake.generateRequests().at(-1)!.contents).toEqual([
      { role: "user", parts: [{ text: "hi" }, { text: "are you there?" }] },
      { role: "model", parts: [{ text: "I cannot help with that." }] },
      { role: "user", parts: [{ text: "why not?" }, { text: "ok" }] },
    ]);
  });

  it("leaves out a silent turn after function responses: the user text that follows joins them, responses first", async () => {
    const res = await world.gw.client().chat({
      model: MODEL,
      messages: [
        { role: Role.USER, content: "weather in Paris?" },
        { role: Role.ASSISTANT, toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"query":"Paris"}' }] },
        { role: Role.TOOL, toolCallId: "call_1", content: "sunny" },
        { role: Role.ASSISTANT, content: "" },
        { role: Role.USER, content: "thanks" },
      ],
      tools: [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }],
    });
    expect(res.message).toBeDefined();
    expect(world.fake.generateRequests().at(-1)!.contents.map((content: { role: string; parts: object[] }) => [content.role, content.parts.map((part) => Object.keys(part)[0])])).toEqual([
      ["user", ["text"]],
      ["model", ["functionCall"]],
      ["user", ["functionResponse", "text"]],
    ]);
  });

  it("refuses system messages alone before asking Gemini, which needs contents", async () => {
    const before = world.fake.generateRequests().length;
    const err = await failure(world.gw.client().chat({ model: MODEL, messages: [{ role: Role.SYSTEM, content: "be brief" }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('provider "gemini" (Gemini): the conversation needs a user message');
    expect(world.fake.generateRequests()).toHaveLength(before);
  });
});

describe("ERNIE v1", () => {
  const world = gatewayOverFake(
    () => startQianfanFake({ apiKey: AK, secretKey: SK }),
    (fake) => ({ QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: fake.baseUrl }),
    SCRIPTED_FAILURES_REACH_THE_CALLER,
  );
  const MODEL = "ernie-4.0-8k";

  it("sends a refusal as the assistant's content and leaves out turns that say nothing, keeping the alternation", async () => {
    const res = await world.gw.client().chat({ model: MODEL, messages: conversation });
    expect(res.message?.content).toBe("Echo: why not?\n\nok");
    expect(world.fake.chatRequests().at(-1)!.body.messages).toEqual([
      { role: "user", content: "hi\n\nare you there?" },
      { role: "assistant", content: "I cannot help with that." },
      { role: "user", content: "why not?\n\nok" },
    ]);
  });

  it("names the silent turn it left out when that breaks the alternation ERNIE demands", async () => {
    const before = world.fake.chatRequests().length;
    const err = await failure(
      world.gw.client().chat({
        model: MODEL,
        messages: [
          { role: Role.USER, content: "weather in Paris?" },
          { role: Role.ASSISTANT, toolCalls: [{ id: "c1", name: "w", arguments: "{}" }] },
          { role: Role.TOOL, toolCallId: "c1", content: "sunny" },
          { role: Role.ASSISTANT },
          { role: Role.USER, content: "thanks" },
        ],
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("messages[4] is a user message right after a tool result; ERNIE needs an assistant turn in between (messages[3] says nothing and calls no tool");
    expect(world.fake.chatRequests()).toHaveLength(before);
  });
});
