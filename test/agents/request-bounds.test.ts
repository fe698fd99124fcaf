// What the agents' surfaces take from a caller that they echo, store or send
// on: bounded by the vendors' documented limits, and refused as the caller's
// 400 in each dialect's error shape, naming the field, before any vendor is
// asked. Arguments of a function call given back must be a JSON object, the
// same whichever vendor would serve.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER_KEY } from "../support/gateway.js";
import { startThreeVendors, type ThreeVendors, type Vendor } from "./support/three-vendors.js";

let world: ThreeVendors;

beforeAll(async () => {
  // One stored response may hold 20 KB.
  world = await startThreeVendors({ env: { SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE: "0.02" } });
});
afterAll(async () => {
  await world?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** Every vendor's chat requests so far: a refused call adds none. */
const asked = () => (["anthropic", "openai", "dashscope"] as Vendor[]).map((vendor) => world.chatRequests(vendor).length);

const tools = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `tool_${i}`, description: "d" }));
const pairs = (count: number, value = "v") => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));

/** The OpenAI-shaped refusal of a /v1/responses body. */
async function responsesRefusal(body: Record<string, unknown>): Promise<{ status: number; code: string; param: string | null }> {
  const before = asked();
  const res = await post("/v1/responses", { model: "gpt-4o-mini", input: "hi", ...body });
  const { error } = (await res.json()) as { error: { type: string; code: string; param: string | null } };
  expect(error.type).toBe("invalid_request_error");
  expect(asked()).toEqual(before);
  return { status: res.status, code: error.code, param: error.param };
}

describe("/v1/responses", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["17 metadata pairs", { metadata: pairs(17) }, "metadata"],
    ["a metadata key of 65 characters", { metadata: { ["k".repeat(65)]: "v" } }, "metadata"],
    ["a metadata value of 513 characters", { metadata: { note: "v".repeat(513) } }, "metadata.note"],
    ["a metadata value that is no string", { metadata: { note: 3 } }, "metadata.note"],
    ["a user of 65 characters", { user: "u".repeat(65) }, "user"],
    ["a safety_identifier of 65 characters", { safety_identifier: "s".repeat(65) }, "safety_identifier"],
    // Not stored: 513 tools' echo alone is past this world's bound on a stored response.
    ["513 tools", { store: false, tools: tools(513).map((tool) => ({ type: "function", ...tool, parameters: { type: "object" } })) }, "tools"],
  ])("refuses %s", async (_, body, param) => {
    expect(await responsesRefusal(body)).toEqual({ status: 400, code: "invalid_argument", param });
  });

  it("takes what is within the bounds, and echoes it", async () => {
    const res = await post("/v1/responses", { model: "gpt-4o-mini", input: "hi", store: false, metadata: pairs(16, "v".repeat(512)), user: "u".repeat(64) });
    expect(res.status).toBe(200);
    const response = (await res.json()) as { metadata: Record<string, string>; user: string };
    expect(Object.keys(response.metadata)).toHaveLength(16);
    expect(response.user).toBe("u".repeat(64));
  });

  it("reserves room for what the Response repeats: an echo past what one response may hold is refused before the vendor is asked", async () => {
    const big = tools(100).map((tool) => ({ type: "function", ...tool, description: "d".repeat(300), parameters: { type: "object" } }));
    const before = asked();
    const res = await post("/v1/responses", { model: "gpt-4o-mini", input: "hi", tools: big });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("response_too_large");
    expect(asked()).toEqual(before);
    // Unstored, it is answered.
    expect((await post("/v1/responses", { model: "gpt-4o-mini", input: "hi", tools: big, store: false })).status).toBe(200);
  });

  it.each(["claude-sonnet-4-5", "gpt-4o-mini", "qwen-plus"])("refuses function_call arguments that are no JSON object as the caller's mistake, for %s", async (model) => {
    const input = (args: string) => [
      { role: "user", content: "q" },
      { type: "function_call", call_id: "c1", name: "lookup", arguments: args },
      { type: "function_call_output", call_id: "c1", output: "r" },
    ];
    const lookup = [{ type: "function", name: "lookup", parameters: { type: "object" } }];
    for (const args of ["{not json", "[1]", '"text"']) expect(await responsesRefusal({ model, input: input(args), tools: lookup })).toEqual({ status: 400, code: "invalid_argument", param: "input[1].arguments" });
    expect((await post("/v1/responses", { model, input: input('{"q":1}'), tools: lookup, store: false })).status).toBe(200);
  });
});

/** The Anthropic-shaped refusal of a /v1/messages body. */
async function messagesRefusal(body: Record<string, unknown>): Promise<{ status: number; type: string; message: string }> {
  const before = asked();
  const res = await post("/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }], ...body });
  const answer = (await res.json()) as { type: string; error: { type: string; message: string } };
  expect(answer.type).toBe("error");
  expect(asked()).toEqual(before);
  return { status: res.status, type: answer.error.type, message: answer.error.message };
}

describe("/v1/messages", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["a metadata.user_id of 257 characters", { metadata: { user_id: "u".repeat(257) } }, "metadata.user_id"],
    ["a metadata field other than user_id", { metadata: { team: "a" } }, "metadata.team"],
    ["513 tools", { tools: tools(513).map((tool) => ({ ...tool, input_schema: { type: "object" } })) }, "tools"],
  ])("refuses %s", async (_, body, field) => {
    const refusal = await messagesRefusal(body);
    expect(refusal).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(refusal.message).toContain(field);
  });

  it("takes a user_id of 256 characters, and sends it on", async () => {
    const res = await post("/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 64, metadata: { user_id: "u".repeat(256) }, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    expect(world.chatRequests("anthropic").at(-1)!.metadata).toEqual({ user_id: "u".repeat(256) });
  });
});

describe("/v1/chat/completions", () => {
  it("refuses 513 tools", async () => {
    const before = asked();
    const res = await post("/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], tools: tools(513).map((tool) => ({ type: "function", function: tool })) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("tools");
    expect(asked()).toEqual(before);
  });
});

describe("a bad image", () => {
  const PNG = "iVBORw0KGgo=";

  it("is named by its place in the caller's /v1/messages body, past the system prompt and tool results", async () => {
    const messages = [
      { role: "user", content: "look" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "r" }, { type: "image", source: { type: "url", url: "file:///etc/passwd" } }] },
    ];
    const lookup = [{ name: "lookup", input_schema: { type: "object" } }];
    expect((await messagesRefusal({ system: "be brief", tools: lookup, messages })).message).toContain("messages.2.content.1.source.url");
    const pdf = { type: "image", source: { type: "base64", media_type: "application/pdf", data: PNG } };
    const withPdf = [{ role: "user", content: [{ type: "text", text: "x" }, pdf] }];
    expect((await messagesRefusal({ system: "be brief", messages: withPdf })).message).toContain("messages.0.content.1.source.media_type");
  });

  it("is named by its place in the caller's /v1/responses input, past the instructions", async () => {
    const input = [{ role: "user", content: [{ type: "input_text", text: "look" }, { type: "input_image", image_url: "file:///etc/passwd" }] }];
    expect(await responsesRefusal({ instructions: "be brief", input })).toEqual({ status: 400, code: "invalid_argument", param: "input[0].content[1].image_url" });
  });
});

describe("how much one call holds", () => {
  // MAX_MESSAGES and MAX_CONTENT_BLOCKS (src/providers/call-size.ts): counted before the body is read into a request.
  const userTurns = (count: number) => Array.from({ length: count }, () => ({ role: "user", content: "a" }));
  const textBlocks = (count: number) => Array.from({ length: count }, () => ({ type: "text", text: "a" }));

  it("is at most 10,000 input items on /v1/responses, refused naming input", async () => {
    expect(await responsesRefusal({ store: false, input: userTurns(10_001) })).toEqual({ status: 400, code: "invalid_argument", param: "input" });
    const parts = textBlocks(50_001).map((block) => ({ type: "input_text", text: block.text }));
    expect(await responsesRefusal({ store: false, input: [{ role: "user", content: parts }] })).toEqual({ status: 400, code: "invalid_argument", param: "input" });
  });

  it("is at most 10,000 messages and 50,000 content blocks on /v1/messages, the count_tokens path included, naming messages", async () => {
    const tooMany = await messagesRefusal({ messages: userTurns(10_001) });
    expect(tooMany).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(tooMany.message).toContain("messages: at most 10000 messages a call, got 10001");
    // The blocks of tool results count too.
    const results = Array.from({ length: 25_001 }, (_, i) => ({ type: "tool_result", tool_use_id: `t${i}`, content: [{ type: "text", text: "r" }] }));
    expect((await messagesRefusal({ messages: [{ role: "user", content: results }] })).message).toContain("got 50002");

    const count = (messages: unknown[]) => post("/v1/messages/count_tokens", { model: "claude-sonnet-4-5", messages });
    const refused = await count(userTurns(10_001));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("messages: at most 10000 messages a call");
    // At the bound, it is counted.
    const counted = await count(userTurns(10_000));
    expect(counted.status).toBe(200);
  });

  it("is at most 10,000 messages on /v1/chat/completions, refused naming messages", async () => {
    const before = asked();
    const res = await post("/v1/chat/completions", { model: "gpt-4o-mini", messages: userTurns(10_001) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("messages");
    const blocks = await post("/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: textBlocks(50_001) }] });
    expect(blocks.status).toBe(400);
    expect(asked()).toEqual(before);
  });
});

describe("a tool call's arguments nested past 64 levels", () => {
  // JSON as text inside the body: the body's own depth bound never sees it, and Claude and Gemini need it parsed and written again.
  const deep = (levels: number) => `{"a":${"[".repeat(levels)}${"]".repeat(levels)}}`;
  const lookup = { type: "function", name: "lookup", parameters: { type: "object" } };

  it.each(["claude-sonnet-4-5", "gpt-4o-mini"])("is the caller's 400 naming input[1].arguments on /v1/responses, for %s", async (model) => {
    const input = (args: string) => [
      { role: "user", content: "q" },
      { type: "function_call", call_id: "c1", name: "lookup", arguments: args },
      { type: "function_call_output", call_id: "c1", output: "r" },
    ];
    expect(await responsesRefusal({ model, store: false, tools: [lookup], input: input(deep(200_000)) })).toEqual({ status: 400, code: "invalid_argument", param: "input[1].arguments" });
    // 64 levels in all is within the bound.
    expect((await post("/v1/responses", { model, store: false, tools: [lookup], input: input(deep(63)) })).status).toBe(200);
  });

  it.each(["claude-sonnet-4-5", "gpt-4o-mini"])("is the caller's 400 naming messages[1].tool_calls[0].function.arguments on /v1/chat/completions, for %s", async (model) => {
    const messages = (args: string) => [
      { role: "user", content: "q" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: args } }] },
      { role: "tool", tool_call_id: "c1", content: "r" },
    ];
    const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];
    const before = asked();
    const res = await post("/v1/chat/completions", { model, tools, messages: messages(deep(200_000)) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: "invalid_argument", param: "messages[1].tool_calls[0].function.arguments" });
    expect(asked()).toEqual(before);
    expect((await post("/v1/chat/completions", { model, tools, messages: messages(deep(63)) })).status).toBe(200);
  });
});
