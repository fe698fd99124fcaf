// A vendor's connection lost after it said the answer's end (audit "stream",
// finding 3): OpenAI's finish reason (and usage chunk) came, Anthropic's
// message_delta with the stop reason and final usage came, and the connection
// closed before `[DONE]` / `message_stop`. The answer is whole: the caller
// gets it and its end, the ledger charges the vendor's usage, and the attempt
// is the vendor's success, not an unreachable against its breaker. Gemini,
// DashScope and Qianfan v1 have no end marker (the body's end is the end): a
// clean close after the finish is their ordinary end, and what is tested is
// the connection lost there instead. Cut before the finish reason, a stream
// stays STREAM_INTERRUPTED (traffic-shaping.test.ts, anthropic.test.ts,
// gemini.test.ts). A real gateway in front of the fakes on loopback.
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import type { ChatSummary } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startQianfanFake, type QianfanFake } from "../fakes/qianfan-v1-fake.js";
import { SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const OPENAI_KEY = "sk-lost-after-answer-openai";
const ANTHROPIC_KEY = "sk-ant-api03-lost-after-answer-0123456789";
const GEMINI_KEY = "AIzaSyLostAfterAnswer0123456789abcdefgh";
const DASHSCOPE_KEY = "sk-lost-after-answer-dashscope";
const QIANFAN_AK = "lost-after-answer-qianfan-ak";
const QIANFAN_SK = "lost-after-answer-qianfan-sk-000000";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gemini: GeminiFake;
let dashscope: DashScopeFake;
let qianfan: QianfanFake;
let gw: TestGateway;
let admin: Client<typeof AdminService>;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: OPENAI_KEY, models: ["o3"] });
  // Cache reads no estimate would count: the ledger's prompt is the vendor's.
  anthropic = await startAnthropicFake({ apiKey: ANTHROPIC_KEY, cacheReadTokens: 40 });
  gemini = await startGeminiFake({ apiKey: GEMINI_KEY });
  dashscope = await startDashScopeFake({ apiKey: DASHSCOPE_KEY });
  qianfan = await startQianfanFake({ apiKey: QIANFAN_AK, secretKey: QIANFAN_SK });
  gw = await startGateway(
    {
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      GEMINI_API_KEY: GEMINI_KEY,
      GEMINI_BASE_URL: gemini.baseUrl,
      DASHSCOPE_API_KEY: DASHSCOPE_KEY,
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      QIANFAN_AK,
      QIANFAN_SK,
      QIANFAN_BASE_URL: qianfan.baseUrl,
    },
    { ...SCRIPTED_FAILURES_REACH_THE_CALLER, ledger: { flush_interval_ms: 50 }, log_level: "debug" },
  );
  admin = createClient(AdminService, gw.transport("connect"));
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
  await anthropic?.close();
  await gemini?.close();
  await dashscope?.close();
  await qianfan?.close();
});
afterEach(() => {
  openai.options.dropAfterFinish = undefined;
  anthropic.options.dropBeforeMessageStop = undefined;
  gemini.options.dropAfterFinish = undefined;
  dashscope.options.dropAfterFinish = undefined;
  qianfan.options.dropAfterEnd = undefined;
});

/** A key of its own for each case, so that its ledger rows are the case's alone. */
async function keyFor(keyId: string): Promise<string> {
  const { secret } = await admin.createKey({ keyId, key: { displayName: keyId } });
  return secret;
}

/** The key's ledger totals, once it holds one row. */
async function ledgerOf(keyId: string) {
  await expect.poll(async () => Number((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.requests)).toBe(1);
  const total = (await admin.getUsageReport({ key: `keys/${keyId}` })).total!;
  return { promptTokens: Number(total.promptTokens), completionTokens: Number(total.completionTokens), cachedTokens: Number(total.cachedTokens), errors: Number(total.errors) };
}

/** The provider's vendor attempts so far, by outcome (what its breaker and key health are fed). */
async function upstreamRequests(provider: string): Promise<Record<string, number>> {
  const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_upstream_requests_total")!.get();
  return Object.fromEntries(metric.values.filter((v) => v.labels.provider === provider).map((v) => [String(v.labels.status), v.value]));
}

/** The attempts the call added to the provider's counts. */
function added(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([status, n]) => [status, n - (before[status] ?? 0)]).filter(([, n]) => n !== 0));
}

/** A streamed chat, read whole: its text and its summary. */
async function streamed(model: string, key: string, content: string): Promise<{ text: string; summary: ChatSummary | undefined }> {
  let text = "";
  let summary: ChatSummary | undefined;
  for await (const event of gw.client("connect", key).chatStream({ model, messages: [{ role: Role.USER, content }] })) {
    if (event.event.case === "delta") text += event.event.value.content;
    if (event.event.case === "summary") summary = event.event.value;
  }
  return { text, summary };
}

/** The debug lines that said a connection was lost after the answer's end. */
function lostLines(provider: string): Record<string, unknown>[] {
  return gw.logs.entries.filter((line) => line.level === "debug" && line.provider === provider && String(line.msg).includes("lost after the answer's end"));
}

describe("a vendor connection lost after the answer's end, before the end marker", () => {
  it("OpenAI, after the finish reason and the usage chunk: the answer ends whole, charged the vendor's usage, an ok attempt", async () => {
    openai.options.dropAfterFinish = "before-done";
    const secret = await keyFor("openai-lost-before-done");
    const before = await upstreamRequests("openai");
    const { text, summary } = await streamed("o3", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: false });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    // The fake's counts: the prompt's 3 words and 3 for the message; the answer's 4 words and its 7 reasoning tokens.
    expect(await ledgerOf("openai-lost-before-done")).toEqual({ promptTokens: 3 + 3, completionTokens: 4 + 7, cachedTokens: 0, errors: 0 });
    expect(added(before, await upstreamRequests("openai"))).toEqual({ "200": 1 });
    expect(lostLines("openai")).toHaveLength(1);
  });

  it("OpenAI, right after the finish reason: the answer ends whole, charged an estimate (no usage came), an ok attempt", async () => {
    openai.options.dropAfterFinish = "before-usage";
    const secret = await keyFor("openai-lost-before-usage");
    const before = await upstreamRequests("openai");
    const { text, summary } = await streamed("o3", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: true });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    expect(await ledgerOf("openai-lost-before-usage")).toMatchObject({ errors: 0 });
    expect(added(before, await upstreamRequests("openai"))).toEqual({ "200": 1 });
  });

  it("Anthropic, after message_delta's stop reason and usage: the answer ends whole, charged the vendor's usage, an ok attempt", async () => {
    anthropic.options.dropBeforeMessageStop = true;
    const secret = await keyFor("anthropic-lost-before-stop");
    const before = await upstreamRequests("anthropic");
    const { text, summary } = await streamed("claude-sonnet-4-5", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: false });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    // The fake's counts: the prompt's 3 words and 3 for the message, 40 of it read from the cache; the answer's 4 words.
    expect(await ledgerOf("anthropic-lost-before-stop")).toEqual({ promptTokens: 3 + 3 + 40, completionTokens: 4, cachedTokens: 40, errors: 0 });
    expect(added(before, await upstreamRequests("anthropic"))).toEqual({ "200": 1 });
    expect(lostLines("anthropic")).toHaveLength(1);
  });

  it("Gemini, after the chunk with the finish reason and the final usage: the answer ends whole, charged the vendor's usage, an ok attempt", async () => {
    gemini.options.dropAfterFinish = true;
    const secret = await keyFor("gemini-lost-after-finish");
    const before = await upstreamRequests("gemini");
    const { text, summary } = await streamed("gemini-2.5-flash", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: false });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    // The fake's counts: the prompt's 3 words and 2 for the turn; the answer's 4 words and the thinking model's 5 thoughts.
    expect(await ledgerOf("gemini-lost-after-finish")).toEqual({ promptTokens: 3 + 2, completionTokens: 4 + 5, cachedTokens: 0, errors: 0 });
    expect(added(before, await upstreamRequests("gemini"))).toEqual({ "200": 1 });
    expect(lostLines("gemini")).toHaveLength(1);
  });

  // The finish reason is the end of these two streams: the decoder is done at it and reads no further, so what the
  // connection does after it is never seen (no debug line); these hold that a drop there is no failure either.
  it("DashScope, after the chunk with the finish reason and the final usage: the answer ends whole, charged the vendor's usage, an ok attempt", async () => {
    dashscope.options.dropAfterFinish = true;
    const secret = await keyFor("dashscope-lost-after-finish");
    const before = await upstreamRequests("dashscope");
    const { text, summary } = await streamed("qwen-plus", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: false });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    // The fake's counts: the prompt's 3 words and 3 for the message; the answer's 4 words.
    expect(await ledgerOf("dashscope-lost-after-finish")).toEqual({ promptTokens: 3 + 3, completionTokens: 4, cachedTokens: 0, errors: 0 });
    expect(added(before, await upstreamRequests("dashscope"))).toEqual({ "200": 1 });
  });

  it("Qianfan v1, after the is_end chunk: the answer ends whole, charged the vendor's usage, an ok attempt", async () => {
    qianfan.options.dropAfterEnd = true;
    const secret = await keyFor("qianfan-lost-after-end");
    const before = await upstreamRequests("qianfan");
    const { text, summary } = await streamed("ernie-4.0-8k", secret, "a finished answer");
    expect(text).toBe("Echo: a finished answer");
    expect(summary).toMatchObject({ finishReason: FinishReason.STOP, usageEstimated: false });
    expect(summary!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    // The fake's counts: the prompt's 3 words and 2 for the message; the answer's 4 words.
    expect(await ledgerOf("qianfan-lost-after-end")).toEqual({ promptTokens: 3 + 2, completionTokens: 4, cachedTokens: 0, errors: 0 });
    expect(added(before, await upstreamRequests("qianfan"))).toEqual({ "200": 1 });
  });
});
