// Anthropic's JSON outputs on /v1/messages (`output_config.format`, and the
// deprecated `output_format`: https://platform.claude.com/docs/en/build-with-claude/structured-outputs,
// ../shared/reference/vendor-wire-formats.md §4 "JSON mode") reach every
// vendor as its JSON mode, as response_format from /v1/chat/completions does,
// or the adjustments say what the model could not do (audit vendors2 #1).
// Claude itself gets the caller's field exactly as before: as written, and no
// JSON tool in its place. A format of the wrong shape is the caller's 400 in
// Anthropic's error shape, naming the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import { messagesRequestFromAnthropic } from "../../src/providers/anthropic/messages-request.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

let anthropic: AnthropicFake;
let openai: OpenAIFake;
let gemini: GeminiFake;
let dashscope: DashScopeFake;
let gw: TestGateway;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor" });
  openai = await startOpenAIFake({ apiKey: "sk-openai-vendor" });
  gemini = await startGeminiFake({ apiKey: "AIzaFakeGeminiKey000000001" });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-vendor" });
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-vendor",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      OPENAI_API_KEY: "sk-openai-vendor",
      OPENAI_BASE_URL: openai.baseUrl,
      GEMINI_API_KEY: "AIzaFakeGeminiKey000000001",
      GEMINI_BASE_URL: gemini.baseUrl,
      DASHSCOPE_API_KEY: "sk-dashscope-vendor",
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
    },
    { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR },
  );
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic, openai, gemini, dashscope].map((fake) => fake?.close()));
});

/** A schema OpenAI's strict mode takes as it is: closed, every property required. */
const CLOSED = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
/** One Claude takes and strict mode would refuse: an optional property. */
const OPTIONAL = { type: "object", properties: { answer: { type: "string" }, note: { type: "string" } }, required: ["answer"], additionalProperties: false };

const ask = (model: string, extra: Record<string, unknown>) => ({ model, max_tokens: 200, messages: [{ role: "user", content: "answer in JSON" }], ...extra });

async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; adjusted: string; json: any; text: string }> {
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, adjusted: res.headers.get("x-switchboard-adjusted") ?? "", json: body && !text.startsWith("event:") ? JSON.parse(text) : undefined, text };
}

describe("output_config.format to a vendor of another dialect", () => {
  it("OpenAI: response_format json_schema, strict where strict mode takes the schema, and the JSON back as text", async () => {
    const { status, json, adjusted } = await post(ask("gpt-4o", { output_config: { format: { type: "json_schema", schema: CLOSED } } }));
    expect(status).toBe(200);
    expect(openai.chatRequests().at(-1)!.response_format).toEqual({ type: "json_schema", json_schema: { name: "response", schema: CLOSED, strict: true } });
    expect(JSON.parse(json.content[0].text)).toHaveProperty("answer");
    expect(json.stop_reason).toBe("end_turn");
    expect(adjusted).toBe("");
  });

  it("OpenAI: best-effort for a schema strict mode would refuse, which Claude takes", async () => {
    await post(ask("gpt-4o", { output_config: { format: { type: "json_schema", schema: OPTIONAL } } }));
    expect(openai.chatRequests().at(-1)!.response_format).toEqual({ type: "json_schema", json_schema: { name: "response", schema: OPTIONAL } });
  });

  it("the deprecated output_format, with its beta header, alike", async () => {
    const { status } = await post(ask("gpt-4o", { output_format: { type: "json_schema", schema: CLOSED } }), { "anthropic-beta": "structured-outputs-2025-11-13" });
    expect(status).toBe(200);
    expect(openai.chatRequests().at(-1)!.response_format).toMatchObject({ type: "json_schema", json_schema: { schema: CLOSED } });
  });

  it("Gemini: responseMimeType application/json with the schema", async () => {
    const { status } = await post(ask("gemini-2.5-flash", { output_config: { format: { type: "json_schema", schema: CLOSED } } }));
    expect(status).toBe(200);
    expect(gemini.generateRequests().at(-1)!.generationConfig).toMatchObject({ responseMimeType: "application/json", responseJsonSchema: CLOSED });
  });

  it("Qwen (JSON mode, no schemas): json_object with the schema in a system message, and said so", async () => {
    const { status, adjusted } = await post(ask("qwen-max", { output_config: { format: { type: "json_schema", schema: CLOSED } } }));
    expect(status).toBe(200);
    const sent = dashscope.generationRequests().at(-1)!.body;
    expect(sent.parameters.response_format).toEqual({ type: "json_object" });
    expect(sent.input.messages[0].content).toContain(JSON.stringify(CLOSED));
    expect(adjusted).toContain("response_format=degraded(json_schema->json_object");
  });
});

describe("output_config.format to Claude", () => {
  it.each([false, true])("goes on as written, with no JSON tool, and the answer is Claude's text (stream %s)", async (stream) => {
    const format = { type: "json_schema", schema: OPTIONAL };
    const { status, json, text } = await post(ask("claude-sonnet-4-5", { output_config: { format }, stream }));
    expect(status).toBe(200);
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.output_config).toEqual({ format });
    expect(sent).not.toHaveProperty("tools");
    expect(sent).not.toHaveProperty("tool_choice");
    if (stream) expect(text).toContain("text_delta");
    else expect(json.content).toEqual([{ type: "text", text: expect.stringContaining("answer in JSON") }]);
  });
});

it.each(["claude-sonnet-4-5", "claude-opus-4-7"])("%s is sent the very body it was sent before the format was read", (model) => {
  const codec = createAnthropicCodec({ provider: "anthropic" });
  const { request } = messagesRequestFromAnthropic({
    ...ask(model, { output_config: { format: { type: "json_schema", schema: CLOSED }, effort: "low" } }),
    thinking: { type: "enabled", budget_tokens: 2_000 },
    tools: [{ name: "lookup", input_schema: { type: "object" } }],
  });
  const body = (params: typeof request) => {
    const fitted = fitChatRequest(params, Catalogue.shipped().lookup("anthropic", model, "anthropic"), "degrade", { model, dialect: "anthropic" });
    if (!fitted.ok) throw new Error(fitted.reason);
    return codec.chatRequest(fitted.params, model, false, fitted.traits).body;
  };
  expect(request.responseFormat?.schema).toEqual(CLOSED);
  expect(body(request)).toEqual(body({ ...request, responseFormat: undefined }));
});

describe("a format of the wrong shape is the caller's 400, naming the field", () => {
  it.each([
    ["a type other than json_schema", { output_config: { format: { type: "json_object" } } }, "output_config.format.type"],
    ["no schema", { output_config: { format: { type: "json_schema" } } }, "output_config.format.schema"],
    ["a schema that is no object", { output_format: { type: "json_schema", schema: "{}" } }, "output_format.schema"],
    ["a field formats do not have", { output_config: { format: { type: "json_schema", schema: CLOSED, name: "x" } } }, "output_config.format.name"],
    ["a format that is no object", { output_config: { format: "json" } }, "output_config.format"],
    ["output_config that is no object", { output_config: [] }, "output_config"],
    ["both names at once", { output_config: { format: { type: "json_schema", schema: CLOSED } }, output_format: { type: "json_schema", schema: CLOSED } }, "output_format"],
  ])("%s", async (_, extra, field) => {
    const before = openai.chatRequests().length;
    const { status, json } = await post(ask("gpt-4o", extra));
    expect(status).toBe(400);
    expect(json).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(json.error.message).toMatch(new RegExp(`^${field.replace(/\./g, "\\.")}\\b`));
    expect(openai.chatRequests()).toHaveLength(before);
  });
});
