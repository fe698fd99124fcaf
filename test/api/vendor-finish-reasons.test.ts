// How an answer ended, as each surface tells the official SDKs, for the
// vendor finish reasons the unified contract has no value of their own for:
// Gemini's OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL and
// TOO_MANY_TOOL_CALLS, Zhipu's network_error, a reason an OpenAI-compatible
// vendor adds later, and Claude's refusal; and Claude's and Zhipu's
// model_context_window_exceeded, told apart from max_tokens where the
// surface has a name for it. No surface gives an SDK a null
// finish_reason (the OpenAI SDK's finalChatCompletion() throws on one), a
// clean end_turn for a malformed tool call, or a completed Response for an
// answer its vendor cut.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>;

/**
 * One loopback server speaking Gemini (`/v1beta/models/…`), Zhipu's
 * OpenAI-compatible API (`/zhipu/chat/completions`) and Anthropic's
 * (`/v1/messages`). Each answers "partial" and ends with the finish reason
 * the prompt names ("finish:MALFORMED_FUNCTION_CALL"); "refusal:" makes
 * Zhipu's answer a refusal in words, as OpenAI's models write them.
 */
function vendorAnswer(path: string, body: Json, res: import("node:http").ServerResponse): void {
  const prompt = JSON.stringify(body.contents ?? body.messages);
  const reason = /finish:([A-Za-z_]+)/.exec(prompt)?.[1] ?? "STOP";
  const streaming = body.stream === true || path.includes(":streamGenerateContent");
  const events = (list: Json[], framing: (event: Json) => string) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const event of list) res.write(framing(event));
  };
  if (path.startsWith("/v1beta/")) {
    const usageMetadata = { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 };
    // Google's cut answers come without the call or text the model was writing.
    const last = { candidates: [{ index: 0, finishReason: reason }], usageMetadata, responseId: "g1" };
    const first = { candidates: [{ index: 0, content: { role: "model", parts: [{ text: "partial" }] } }], usageMetadata, responseId: "g1" };
    if (!streaming) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...last, candidates: [{ ...first.candidates[0], ...last.candidates[0] }] }));
    events([first, last], (event) => `data: ${JSON.stringify(event)}\r\n\r\n`);
    return void res.end();
  }
  if (path.startsWith("/zhipu/") || path.startsWith("/deepseek/")) {
    const refusal = prompt.includes("refusal:");
    const message = refusal ? { role: "assistant", content: null, refusal: "I can't help with that." } : { role: "assistant", content: "partial" };
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 };
    const head = { id: "z1", created: 1, model: body.model };
    if (!streaming) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...head, object: "chat.completion", choices: [{ index: 0, message, finish_reason: reason }], usage }));
    const chunk = (delta: Json, finish: string | null, extra: Json = {}) => ({ ...head, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
    events([chunk(refusal ? { role: "assistant", refusal: message.refusal } : { role: "assistant", content: "partial" }, null), chunk({}, reason, { usage })], (event) => `data: ${JSON.stringify(event)}\n\n`);
    return void res.end("data: [DONE]\n\n");
  }
  const usage = { input_tokens: 3, output_tokens: 1 };
  const message = { id: "msg_v1", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "partial" }], stop_reason: reason, stop_sequence: null, usage };
  if (!streaming) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(message));
  events(
    [
      { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "partial" } },
      { type: "content_block_stop", index: 0 },
      { type: "message_delta", delta: { stop_reason: reason, stop_sequence: null }, usage: { output_tokens: 1 } },
      { type: "message_stop" },
    ],
    (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
  );
  res.end();
}

let vendor: Server;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  vendor = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    vendorAnswer(req.url ?? "", JSON.parse(text) as Json, res);
  });
  await new Promise<void>((resolve) => vendor.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  gw = await startGateway(
    {
      GEMINI_API_KEY: "AIzaFakeGeminiKey000000001",
      GEMINI_BASE_URL: `${origin}/v1beta`,
      ZHIPU_API_KEY: "zhipu-fake-key.0000000001",
      ZHIPU_BASE_URL: `${origin}/zhipu`,
      DEEPSEEK_API_KEY: "sk-deepseek-fake-0000000001",
      DEEPSEEK_BASE_URL: `${origin}/deepseek`,
      ANTHROPIC_API_KEY: "sk-ant-fake-000000000001",
      ANTHROPIC_BASE_URL: origin,
    },
    { traffic: { retry: { max_attempts: 1 } } },
  );
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  vendor?.closeAllConnections();
  await new Promise((resolve) => vendor?.close(resolve));
});

const GEMINI = "gemini-2.5-flash";
const GLM = "glm-4.5";
const DEEPSEEK = "deepseek-chat";
const CLAUDE = "claude-sonnet-4-5";

/** A prompt that makes the vendor end with `reason`. */
const ending = (reason: string) => [{ role: "user" as const, content: `finish:${reason}` }];

describe("Chat Completions: a real finish_reason for every vendor reason, unary and through the SDK's stream helper", () => {
  it.each([
    [GEMINI, "MALFORMED_FUNCTION_CALL", "content_filter"],
    [GEMINI, "UNEXPECTED_TOOL_CALL", "content_filter"],
    [GEMINI, "TOO_MANY_TOOL_CALLS", "content_filter"],
    [GEMINI, "OTHER", "content_filter"],
    [GLM, "network_error", "content_filter"],
    // DeepSeek out of capacity: cut by the vendor, not by the caller's max_tokens.
    [DEEPSEEK, "insufficient_system_resource", "content_filter"],
    [GLM, "model_context_window_exceeded", "length"],
    [CLAUDE, "model_context_window_exceeded", "length"],
    // A reason the gateway does not know ended the answer all the same.
    [GLM, "a_reason_added_later", "stop"],
    [GEMINI, "A_REASON_ADDED_LATER", "stop"],
  ])("%s ending with %s: %s", async (model, reason, expected) => {
    const answer = await openai.chat.completions.create({ model, messages: ending(reason) });
    expect(answer.choices[0]!.finish_reason).toBe(expected);

    const final = await openai.chat.completions.stream({ model, messages: ending(reason) }).finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe(expected);
    expect(final.choices[0]!.message.content).toBe("partial");
  });
});

describe("/v1/messages: a malformed or unexpected tool call is no clean end_turn", () => {
  it.each(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])("Gemini's %s", async (reason) => {
    const answer = await anthropic.messages.create({ model: GEMINI, max_tokens: 64, messages: ending(reason) });
    expect(answer.stop_reason).not.toBe("end_turn");
    expect(answer.stop_reason).toBe("refusal");
    const final = await anthropic.messages.stream({ model: GEMINI, max_tokens: 64, messages: ending(reason) }).finalMessage();
    expect(final.stop_reason).toBe("refusal");
  });

  it("Zhipu's network_error neither", async () => {
    expect((await anthropic.messages.create({ model: GLM, max_tokens: 64, messages: ending("network_error") })).stop_reason).toBe("refusal");
  });
});

describe("/v1/messages: a full context window is no max_tokens", () => {
  it.each([GLM, CLAUDE])("%s ending with model_context_window_exceeded", async (model) => {
    const request = { model, max_tokens: 64, messages: ending("model_context_window_exceeded") };
    expect((await anthropic.messages.create(request)).stop_reason).toBe("model_context_window_exceeded");
    expect((await anthropic.messages.stream(request).finalMessage()).stop_reason).toBe("model_context_window_exceeded");
  });
});

/** A streamed Response's last event and the message item it closed. */
async function streamedResponse(params: { model: string; input: OpenAI.Responses.ResponseInput }): Promise<{ last: Json; messageDone: Json | undefined }> {
  const events: Json[] = [];
  for await (const event of await openai.responses.create({ ...params, store: false, stream: true })) events.push(event as Json);
  const messageDone = events.find((event) => event.type === "response.output_item.done" && event.item.type === "message")?.item;
  return { last: events.at(-1)!, messageDone };
}

describe("/v1/responses: an answer its vendor cut is an incomplete Response, its message item too", () => {
  it.each([
    [CLAUDE, "refusal", "content_filter"],
    [GEMINI, "MALFORMED_FUNCTION_CALL", "content_filter"],
    [GLM, "network_error", "content_filter"],
    [DEEPSEEK, "insufficient_system_resource", "content_filter"],
    [GLM, "length", "max_output_tokens"],
    [GLM, "model_context_window_exceeded", "max_output_tokens"],
  ])("%s ending with %s: incomplete (%s)", async (model, reason, why) => {
    const answer = await openai.responses.create({ model, input: ending(reason), store: false });
    expect(answer.status).toBe("incomplete");
    expect(answer.incomplete_details).toEqual({ reason: why });
    expect(answer.output_text).toBe("partial");
    expect(answer.output.find((item) => item.type === "message")?.status).toBe("incomplete");

    const { last, messageDone } = await streamedResponse({ model, input: ending(reason) });
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: why } });
    expect(messageDone?.status).toBe("incomplete");
    expect(last.response.output.find((item: Json) => item.type === "message")?.status).toBe("incomplete");
  });

  it("a refusal in words (OpenAI's way) is a completed Response with a refusal part", async () => {
    const answer = await openai.responses.create({ model: GLM, input: [{ role: "user", content: "refusal: finish:stop" }], store: false });
    expect(answer.status).toBe("completed");
    expect(answer.output[0]).toMatchObject({ type: "message", status: "completed", content: [{ type: "refusal", refusal: "I can't help with that." }] });
    const { last } = await streamedResponse({ model: GLM, input: [{ role: "user", content: "refusal: finish:stop" }] });
    expect(last).toMatchObject({ type: "response.completed", response: { status: "completed" } });
  });

  it("a whole answer is completed, its message item too", async () => {
    const answer = await openai.responses.create({ model: GLM, input: ending("stop"), store: false });
    expect(answer).toMatchObject({ status: "completed", incomplete_details: null });
    expect(answer.output[0]).toMatchObject({ type: "message", status: "completed" });
  });
});
