// How an answer names itself when its vendor is not of the OpenAI dialect:
// as the vendor did. The vendor's id (Anthropic's message id, Gemini's
// responseId, DashScope's request_id, Qianfan v1's id) in a whole answer and
// in every chunk of a stream from the first, on /v1/chat/completions; and the
// model as the vendor named it where it names one (Anthropic's dated model an
// alias points to, Gemini's modelVersion), else the model it was sent. Over
// Connect and gRPC, the first delta and the summary say them.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatDelta, ChatSummary } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startQianfanFake, type QianfanFake } from "../fakes/qianfan-v1-fake.js";
import { MASTER_KEY, PROTOCOLS, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const CLAUDE_DATED = "claude-sonnet-4-5-20250929";
const GEMINI_VERSION = "gemini-2.5-flash-preview-09-2025";

/** Each vendor: the model asked, the shape of the ids its fake gives, and the model its answers name (the vendor's own, or the one sent when it names none). */
const VENDORS = [
  { vendor: "Anthropic", model: "claude-sonnet-4-5", id: /^msg_\d+$/, named: CLAUDE_DATED, namesModel: true },
  { vendor: "Gemini", model: "gemini-2.5-flash", id: /^[0-9a-f]{16}$/, named: GEMINI_VERSION, namesModel: true },
  { vendor: "DashScope native", model: "qwen-plus", id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, named: "qwen-plus", namesModel: false },
  { vendor: "Qianfan v1", model: "ernie-4.0-8k", id: /^as-[0-9a-f]{10}$/, named: "ernie-4.0-8k", namesModel: false },
] as const;

const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";

let anthropic: AnthropicFake;
let gemini: GeminiFake;
let dashscope: DashScopeFake;
let qianfan: QianfanFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor-0001", modelVersions: { "claude-sonnet-4-5": CLAUDE_DATED } });
  gemini = await startGeminiFake({ apiKey: "AIzaSyVendorKey0123456789abcdefXYZ", modelVersions: { "gemini-2.5-flash": GEMINI_VERSION } });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-vendor-0001" });
  qianfan = await startQianfanFake({ apiKey: AK, secretKey: SK });
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-vendor-0001",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      GEMINI_API_KEY: "AIzaSyVendorKey0123456789abcdefXYZ",
      GEMINI_BASE_URL: gemini.baseUrl,
      DASHSCOPE_API_KEY: "sk-dashscope-vendor-0001",
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      QIANFAN_AK: AK,
      QIANFAN_SK: SK,
      QIANFAN_BASE_URL: qianfan.baseUrl,
    },
    { key_pool: EVERY_CALL_REACHES_THE_VENDOR },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic?.close(), gemini?.close(), dashscope?.close(), qianfan?.close()]);
});

const messages = [{ role: "user" as const, content: "hello there" }];

describe.each(VENDORS)("$vendor on /v1/chat/completions", ({ model, id, named }) => {
  it("a whole answer has the vendor's id and the model as the vendor named it", async () => {
    const res = await sdk.chat.completions.create({ model, messages });
    expect(res.id).toMatch(id);
    expect(res.model).toBe(named);
  });

  it("every chunk of a stream, from the first, has the vendor's id and the model as the vendor named it", async () => {
    const chunks = [];
    for await (const chunk of await sdk.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks[0]!.id).toMatch(id);
    expect(new Set(chunks.map((chunk) => chunk.id))).toEqual(new Set([chunks[0]!.id]));
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set([named]));
  });
});

describe.each(PROTOCOLS)("AIService over %s", (protocol) => {
  it.each(VENDORS)("$vendor: Chat says the vendor's id, and its model when it names one", async ({ model, id, named, namesModel }) => {
    const res = await gw.client(protocol).chat({ model, messages: [{ role: Role.USER, content: "hello there" }] });
    expect(res.id).toMatch(id);
    expect(res.model).toBe(model);
    expect(res.vendorModel).toBe(namesModel ? named : undefined);
  });

  it.each(VENDORS)("$vendor: ChatStream's first delta says them, the others nothing, the summary them again", async ({ model, id, named, namesModel }) => {
    const deltas: ChatDelta[] = [];
    let summary: ChatSummary | undefined;
    for await (const event of gw.client(protocol).chatStream({ model, messages: [{ role: Role.USER, content: "hello there" }] })) {
      if (event.event.case === "delta") deltas.push(event.event.value);
      else if (event.event.case === "summary") summary = event.event.value;
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(summary!.id).toMatch(id);
    expect(deltas[0]!.id).toBe(summary!.id);
    expect(deltas[0]!.vendorModel).toBe(namesModel ? named : undefined);
    expect(deltas.slice(1).every((delta) => delta.id === undefined && delta.vendorModel === undefined)).toBe(true);
    expect(summary!.vendorModel).toBe(namesModel ? named : undefined);
  });
});
