// An image sent to a model the catalogue knows takes none is refused before
// any vendor is asked (image-input.ts), naming the image where the caller
// wrote it: on the agent surfaces the unified messages are not the caller's
// one for one (a /v1/messages turn's tool results are messages of their own,
// `system` is one; /v1/responses puts its instructions first), so the
// unified `messages[i].parts[j]` named a place the caller's body does not have.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const TEXT_ONLY = "gpt-3.5-turbo";
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

let openai: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001", models: [TEXT_ONLY] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-openai-fake-000000000001", OPENAI_BASE_URL: openai.baseUrl }, { traffic: { retry: { max_attempts: 1 } } });
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
});

async function post(path: string, body: object): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe("an image to a text-only model is named as the caller wrote it", () => {
  it("on /v1/messages: the block of the turn, past the turn's tool results and the system prompt", async () => {
    const before = openai.chatRequests().length;
    const { status, json } = await post("/v1/messages", {
      model: TEXT_ONLY,
      max_tokens: 32,
      system: "be brief",
      tools: [{ name: "lookup", input_schema: { type: "object", properties: {} } }],
      messages: [
        { role: "user", content: "look it up" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "found" },
            { type: "text", text: "and this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
          ],
        },
      ],
    });
    expect(status).toBe(400);
    // Unified, this image is messages[4].parts[1] (the system prompt first, the tool result a message of its own).
    expect(json.error.message).toBe(`messages.2.content.2: ${TEXT_ONLY} takes no image input`);
    expect(openai.chatRequests().length).toBe(before);
  });

  it("on /v1/messages: an image in a tool result, by the result's own content", async () => {
    const { status, json } = await post("/v1/messages", {
      model: TEXT_ONLY,
      max_tokens: 32,
      tools: [{ name: "lookup", input_schema: { type: "object", properties: {} } }],
      messages: [
        { role: "user", content: "look it up" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
        {
          role: "user",
          content: [
            { type: "text", text: "here:" },
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a chart" }, { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] },
          ],
        },
      ],
    });
    expect(status).toBe(400);
    expect(json.error.message).toBe(`messages.2.content.1.content.1: ${TEXT_ONLY} takes no image input`);
  });

  it("on /v1/responses: the input item's part, past the instructions", async () => {
    const before = openai.chatRequests().length;
    const { status, json } = await post("/v1/responses", {
      model: TEXT_ONLY,
      instructions: "be brief",
      store: false,
      input: [
        { type: "message", role: "user", content: "hi" },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "hello" }] },
        { type: "function_call", call_id: "call_1", name: "lookup", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "found" },
        { type: "message", role: "user", content: [{ type: "input_text", text: "what is this?" }, { type: "input_image", image_url: `data:image/png;base64,${PNG}` }] },
      ],
    });
    expect(status).toBe(400);
    // Unified, it is messages[4].parts[1]: the instructions first, the assistant's message and call one message.
    expect(json.error.param).toBe("input[4].content[1]");
    expect(json.error.message).toContain(`${TEXT_ONLY} takes no image input`);
    expect(openai.chatRequests().length).toBe(before);
  });

  it("on /v1/chat/completions: the message's content part", async () => {
    const { status, json } = await post("/v1/chat/completions", {
      model: TEXT_ONLY,
      messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    });
    expect(status).toBe(400);
    expect(json.error.param).toBe("messages[0].content[1]");
  });
});
