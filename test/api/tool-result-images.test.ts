// Images in tool results, sent to a vendor of the OpenAI dialect: OpenAI's
// tool messages take text parts only (an image_url part there is a 400), so
// the gateway sends the images in a user message right after the turn's tool
// messages. Driven by the official Anthropic and OpenAI (Responses) SDKs.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG, startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const LOOKUP: Anthropic.Tool = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object", properties: { query: { type: "string" } } } };
const DATA_URL = `data:image/png;base64,${PNG}`;

let world: ThreeVendors;

beforeAll(async () => {
  world = await startThreeVendors();
});
afterAll(async () => {
  await world?.stop();
});

type Sent = { role: string; content: unknown; tool_call_id?: string };
const sentMessages = () => world.chatRequests("openai").at(-1)!.messages as Sent[];

describe("a tool result's image, for a model served by OpenAI", () => {
  it("from the Messages surface: the tool messages keep their text, the images follow in one user message", async () => {
    const sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY });
    await sdk.messages.create({
      model: "gpt-4o-mini",
      max_tokens: 64,
      tools: [LOOKUP],
      messages: [
        { role: "user", content: "look both up" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "call_a", name: "lookup", input: { query: "a" } },
            { type: "tool_use", id: "call_b", name: "lookup", input: { query: "b" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_a", content: [{ type: "text", text: "a chart" }, { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] },
            { type: "tool_result", tool_use_id: "call_b", content: "plain text" },
          ],
        },
      ],
    });
    const messages = sentMessages();
    const tools = messages.filter((m) => m.role === "tool");
    expect(tools.map((m) => m.tool_call_id)).toEqual(["call_a", "call_b"]);
    // No tool message holds anything but text.
    expect(JSON.stringify(tools)).not.toContain("image_url");
    expect(JSON.stringify(tools[0]!.content)).toContain("a chart");
    // The images come right after the last tool message, named by the call they answer.
    const after = messages[messages.indexOf(tools[1]!) + 1]!;
    expect(after.role).toBe("user");
    expect(after.content).toEqual([
      { type: "text", text: "Images from tool call call_a:" },
      { type: "image_url", image_url: { url: DATA_URL } },
    ]);
  });

  it("from the Responses surface: a function_call_output's input_image goes in a user message after it", async () => {
    const sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY });
    await sdk.responses.create({
      model: "gpt-4o-mini",
      tools: [{ type: "function", name: "lookup", parameters: LOOKUP.input_schema as Record<string, unknown>, strict: false }],
      input: [
        { role: "user", content: "look it up" },
        { type: "function_call", call_id: "call_c", name: "lookup", arguments: "{}" },
        { type: "function_call_output", call_id: "call_c", output: [{ type: "input_image", image_url: DATA_URL, detail: "auto" }] },
      ],
    });
    const messages = sentMessages();
    const tool = messages.findIndex((m) => m.role === "tool");
    expect(JSON.stringify(messages[tool])).not.toContain("image_url");
    expect(messages[tool + 1]).toMatchObject({ role: "user", content: [{ type: "text", text: "Images from tool call call_c:" }, { type: "image_url", image_url: { url: DATA_URL } }] });
  });
});
