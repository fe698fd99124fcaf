// What a caller of /v1/messages says that the unified request has no field
// for, reaching Gemini as Gemini says it (audit L2/L1): a failed tool result
// under functionResponse.response.error, top_k as generationConfig.topK, and
// the images of a tool result as parts of the same user turn. The fake holds
// the request to Gemini's documented shapes (test/fakes/gemini-fake.ts).
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const UPSTREAM_KEY = "AIzaSyUpstreamSecret0123456789abcdefXYZ";
const MODEL = "gemini-2.5-flash";
const PNG = "iVBORw0KGgo=";
const LOOKUP: Anthropic.Tool = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object", properties: { query: { type: "string" } } } };

let fake: GeminiFake;
let gw: TestGateway;
let sdk: Anthropic;

beforeAll(async () => {
  fake = await startGeminiFake({ apiKey: UPSTREAM_KEY });
  gw = await startGateway({ GEMINI_API_KEY: UPSTREAM_KEY, GEMINI_BASE_URL: fake.baseUrl }, { traffic: { retry: { max_attempts: 1 } }, key_pool: EVERY_CALL_REACHES_THE_VENDOR });
  sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

/** A conversation in which the model called `lookup` (id "toolu_1") and the caller answers with `result`. */
function answering(result: Anthropic.ToolResultBlockParam, extra: Anthropic.ContentBlockParam[] = []): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: MODEL,
    max_tokens: 256,
    tools: [LOOKUP],
    messages: [
      { role: "user", content: "look up Oslo" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: { query: "Oslo" } }] },
      { role: "user", content: [result, ...extra] },
    ],
  };
}

const lastParts = () => fake.generateRequests().at(-1)!.contents.at(-1).parts;

describe("a tool result marked is_error", () => {
  it("reaches Gemini under the documented response.error key, and the model reads it as a failure", async () => {
    const answer = await sdk.messages.create(answering({ type: "tool_result", tool_use_id: "toolu_1", content: "service down", is_error: true }));
    expect(lastParts()).toEqual([{ functionResponse: { name: "lookup", response: { error: "service down" } } }]);
    expect(answer.content).toEqual([{ type: "text", text: "Tool result: error: service down" }]);
  });

  it("leaves a result without it under content", async () => {
    await sdk.messages.create(answering({ type: "tool_result", tool_use_id: "toolu_1", content: "sunny", is_error: false }));
    expect(lastParts()).toEqual([{ functionResponse: { name: "lookup", response: { content: "sunny" } } }]);
  });
});

it("sends top_k as generationConfig.topK", async () => {
  // The Messages API takes top_k; this SDK's types do not list it.
  const body = { model: MODEL, max_tokens: 64, top_k: 40, messages: [{ role: "user", content: "hello" }] } as Anthropic.MessageCreateParamsNonStreaming;
  await sdk.messages.create(body);
  expect(fake.generateRequests().at(-1)!.generationConfig.topK).toBe(40);
});

describe("images in a tool result", () => {
  it("follow the function responses as inlineData and fileData parts of the same user turn, where Gemini takes images", async () => {
    const answer = await sdk.messages.create(
      answering(
        {
          type: "tool_result",
          tool_use_id: "toolu_1",
          content: [
            { type: "text", text: "two charts" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "image", source: { type: "url", url: "https://example.com/chart.png" } },
          ],
        },
        [{ type: "text", text: "what do they show?" }],
      ),
    );
    expect(lastParts()).toEqual([
      { functionResponse: { name: "lookup", response: { content: "two charts" } } },
      { inlineData: { mimeType: "image/png", data: PNG } },
      { fileData: { mimeType: "image/png", fileUri: "https://example.com/chart.png" } },
      { text: "what do they show?" },
    ]);
    expect(answer.content).toEqual([{ type: "text", text: "Tool result: two charts (and 2 images)" }]);
  });

  it("come after every function response of parallel calls", async () => {
    await sdk.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [LOOKUP],
      messages: [
        { role: "user", content: "look up Oslo and Rome" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "toolu_1", name: "lookup", input: { query: "Oslo" } },
            { type: "tool_use", id: "toolu_2", name: "lookup", input: { query: "Rome" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] },
            { type: "tool_result", tool_use_id: "toolu_2", content: "warm" },
          ],
        },
      ],
    });
    expect(lastParts()).toEqual([
      { functionResponse: { name: "lookup", response: { content: "" } } },
      { functionResponse: { name: "lookup", response: { content: "warm" } } },
      { inlineData: { mimeType: "image/png", data: PNG } },
    ]);
  });
});
