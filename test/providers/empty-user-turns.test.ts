// A user message with nothing in it (content "" or []), which OpenAI's API
// takes and Claude, Gemini and ERNIE v1 refuse as a turn of its own. It used
// to reach the vendor and come back as the vendor's 400; now it is refused
// before any vendor is asked, naming the caller's field, while an empty
// message beside another of its turn (merged into it) is served as before.
// Each fake enforces its vendor's rule, so a body the vendor would refuse
// fails here too.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startQianfanFake, type QianfanFake } from "../fakes/qianfan-v1-fake.js";
import { SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { restChat } from "./rest.js";

const AK = "qianfan-ak-empty-turns-0000000001";
const SK = "qianfan-sk-empty-turns-0000000001";

let anthropic: AnthropicFake;
let gemini: GeminiFake;
let qianfan: QianfanFake;
let openai: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  [anthropic, gemini, qianfan, openai] = await Promise.all([
    startAnthropicFake({ apiKey: "sk-ant-empty-turns" }),
    startGeminiFake({ apiKey: "gemini-empty-turns" }),
    startQianfanFake({ apiKey: AK, secretKey: SK }),
    startOpenAIFake({ apiKey: "sk-empty-turns" }),
  ]);
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-empty-turns",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      GEMINI_API_KEY: "gemini-empty-turns",
      GEMINI_BASE_URL: gemini.baseUrl,
      QIANFAN_AK: AK,
      QIANFAN_SK: SK,
      QIANFAN_BASE_URL: qianfan.baseUrl,
      OPENAI_API_KEY: "sk-empty-turns",
      OPENAI_BASE_URL: openai.baseUrl,
    },
    SCRIPTED_FAILURES_REACH_THE_CALLER,
  );
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic, gemini, qianfan, openai].map((fake) => fake?.close()));
});

const VENDORS = [
  { name: "Claude", model: "claude-sonnet-4-5", asked: () => anthropic.messageRequests().length },
  { name: "Gemini", model: "gemini-2.5-flash", asked: () => gemini.generateRequests().length },
  { name: "ERNIE v1", model: "ernie-4.0-8k", asked: () => qianfan.chatRequests().length },
];

const conversation = (last: unknown) => [
  { role: "user", content: "hi" },
  { role: "assistant", content: "hello" },
  { role: "user", content: last },
];

describe.each(VENDORS)("an empty user turn to $name", ({ model, asked }) => {
  it.each([[""], [[]]])("content %j: InvalidArgument naming messages[2].content, no vendor asked", async (content) => {
    const before = asked();
    const { status, json } = await restChat(gw, { model, messages: conversation(content) });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param: "messages[2].content" });
    expect(json.error.message).toContain(`${model}'s API refuses a user turn with no content`);
    expect(asked()).toBe(before);
  });

  it("an empty text part is no content either", async () => {
    const { status, json } = await restChat(gw, { model, messages: conversation([{ type: "text", text: "" }]) });
    expect(status).toBe(400);
    expect(json.error.param).toBe("messages[2].content");
  });

  it("beside another message of its turn, it is merged into it and served", async () => {
    const { status } = await restChat(gw, { model, messages: [{ role: "user", content: "hi" }, { role: "user", content: "" }] });
    expect(status).toBe(200);
  });
});

describe("an empty user turn", () => {
  it("over the typed API, names the unified field", async () => {
    const err = await failure(gw.client().chat({ model: "claude-sonnet-4-5", messages: [{ role: Role.USER, content: "" }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["messages[0].content"]);
  });

  it("on /v1/messages, names the caller's own field", async () => {
    const before = anthropic.messageRequests().length;
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "gemini-2.5-flash", max_tokens: 16, system: "be brief", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }, { role: "user", content: [] }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^messages\.2\.content: /);
    expect(anthropic.messageRequests().length).toBe(before);
  });

  it("is served by a vendor of the OpenAI dialect, whose API takes it", async () => {
    const { status } = await restChat(gw, { model: "gpt-4o-mini", messages: conversation("") });
    expect(status).toBe(200);
    expect(openai.chatRequests().at(-1)!.messages[2]).toMatchObject({ role: "user", content: "" });
  });
});
