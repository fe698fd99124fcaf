// What a `/v1/messages` conversation holds beside what the gateway reads is
// bounded: a field a content block does not have (a text block's `x`) is
// refused by name, as Anthropic refuses it ("Extra inputs are not
// permitted"), and the free-form JSON a conversation carries (tool call
// inputs, citations, cache breakpoints, a message's own fields) is counted
// against one budget for the call, before anything walks it (the cache key,
// the usage estimate, the vendor's body): a 400,000-key value took seconds of
// the event loop. Refused in Anthropic's shape, before any vendor is asked; a
// long Claude Code session is still served, with ten times its weight to spare.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { jsonValueViolations } from "../../src/common/json-value-bounds.js";
import { conversationJson, CONVERSATION_LIMITS, MAX_CONVERSATION_JSON_NODES, TOO_MANY_CONVERSATION_NODES } from "../../src/providers/anthropic/conversation-fields.js";
import { PNG } from "../agents/support/three-vendors.js";
import { gatewayOverOpenAIFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY } from "../support/gateway.js";

const world = gatewayOverOpenAIFake();

/** One flat object of `count` keys: the audit's shape. */
const wide = (count: number): JsonObject => {
  const object: JsonObject = {};
  for (let i = 0; i < count; i++) object[`k${i}`] = i;
  return object;
};
// Past the conversation's bound, within the body's (250,000 objects and members: common/request-objects.ts), which refuses a wider one unnamed.
const WIDE = wide(150_000);

const post = (body: unknown) =>
  fetch(`${world.gw.url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });

/** The vendor requests so far: a refused call adds none. */
const asked = () => world.fake.chatRequests().length;

/** A tool round as Claude Code writes it: the assistant's call, then the user turn with its result. */
const round = (id: string, call: JsonObject = {}, result: JsonObject = {}): JsonValue[] => [
  { role: "assistant", content: [{ type: "tool_use", id, name: "Read", input: { file_path: "/src/a.ts" }, ...call }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: "1\tfile contents", ...result }] },
];

/** The `/v1/messages` refusal of `messages` (and `extra` fields), as Anthropic's SDKs read it; no vendor asked. */
async function refusal(messages: JsonValue[], extra: JsonObject = {}): Promise<{ status: number; type: string; message: string }> {
  const before = asked();
  const res = await post({ model: "gpt-4o-mini", max_tokens: 5, messages, ...extra });
  const body = (await res.json()) as { type: string; error: { type: string; message: string } };
  expect(body.type).toBe("error");
  expect(asked()).toBe(before);
  return { status: res.status, type: body.error.type, message: body.error.message };
}

const TEXT_FIELDS = "type, text, cache_control, citations";

describe("a field a content block does not have is refused by name", () => {
  it.each<[string, JsonValue[], JsonObject, string]>([
    ["a user's text block, added a 150,000-key object", [{ role: "user", content: [{ type: "text", text: "hi", x: WIDE }] }], {}, `messages.0.content.0.x: is not a field of text blocks (${TEXT_FIELDS})`],
    ["an image block", [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG }, x: 1 }] }], {}, "messages.0.content.0.x: is not a field of image blocks (type, source, cache_control)"],
    ["an image's source", [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://example.com/a.png", x: 1 } }] }], {}, "messages.0.content.0.source.x: is not a field of url image sources (type, url)"],
    ["a tool call", [{ role: "user", content: "q" }, ...round("toolu_1", { x: 1 })], {}, "messages.1.content.0.x: is not a field of tool_use blocks (type, id, name, input, cache_control, caller)"],
    ["a tool result", [{ role: "user", content: "q" }, ...round("toolu_1", {}, { x: 1 })], {}, "messages.2.content.0.x: is not a field of tool_result blocks (type, tool_use_id, content, is_error, cache_control)"],
    ["a tool result's own block", [{ role: "user", content: "q" }, ...round("toolu_1", {}, { content: [{ type: "text", text: "r", x: 1 }] })], {}, `messages.2.content.0.content.0.x: is not a field of text blocks (${TEXT_FIELDS})`],
    // Anthropic refuses a cache breakpoint on thinking ("messages.13.content.0.thinking.cache_control: Extra inputs are not permitted").
    ["a thinking block's cache breakpoint", [{ role: "user", content: "q" }, { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "", cache_control: { type: "ephemeral" } }] }], {}, "messages.1.content.0.cache_control: is not a field of thinking blocks (type, thinking, signature)"],
    ["a redacted thinking block", [{ role: "user", content: "q" }, { role: "assistant", content: [{ type: "redacted_thinking", data: "d", x: 1 }] }], {}, "messages.1.content.0.x: is not a field of redacted_thinking blocks (type, data)"],
    ["a system message's block", [{ role: "user", content: "q" }, { role: "system", content: [{ type: "text", text: "s", x: 1 }] }], {}, `messages.1.content.0.x: is not a field of text blocks (${TEXT_FIELDS})`],
    // What a framework's block ids did to Anthropic ("system.0.id: Extra inputs are not permitted").
    ["a system prompt's block", [{ role: "user", content: "q" }], { system: [{ type: "text", text: "s", id: "blk_1" }] }, `system.0.id: is not a field of text blocks (${TEXT_FIELDS})`],
    ["a field whose name is long, named by an excerpt", [{ role: "user", content: [{ type: "text", text: "hi", ["k".repeat(5_000)]: 1 }] }], {}, `messages.0.content.0.${"k".repeat(200)}…: is not a field of text blocks (${TEXT_FIELDS})`],
  ])("%s", async (_, messages, extra, message) => {
    expect(await refusal(messages, extra)).toEqual({ status: 400, type: "invalid_request_error", message });
  });
});

describe("the conversation's free-form JSON is counted against one budget", () => {
  it.each<[string, JsonValue[], string]>([
    ["a tool call's input", [{ role: "user", content: "q" }, ...round("toolu_1", { input: WIDE })], "messages.1.content.0.input"],
    ["a tool call's caller", [{ role: "user", content: "q" }, ...round("toolu_1", { caller: { type: "direct", ...WIDE } })], "messages.1.content.0.caller"],
    ["a cache breakpoint", [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral", ...WIDE } }] }], "messages.0.content.0.cache_control"],
    ["citations", [{ role: "user", content: [{ type: "text", text: "hi", citations: Object.keys(WIDE) }] }], "messages.0.content.0.citations"],
    ["a tool result's own block's cache breakpoint", [{ role: "user", content: "q" }, ...round("toolu_1", {}, { content: [{ type: "text", text: "r", cache_control: WIDE }] })], "messages.2.content.0.content.0.cache_control"],
    ["a message's field beside its role and content", [{ role: "user", content: "q" }, { role: "system", content: "s", output_config: WIDE }], "messages.1.output_config"],
    ["inputs each within it, past it together: the one that crossed it", [{ role: "user", content: "q" }, { role: "assistant", content: [0, 1, 2].map((i) => ({ type: "tool_use", id: `toolu_${i}`, name: "Read", input: wide(40_000) })) }], "messages.1.content.2.input"],
  ])("%s past it is refused, naming the field", async (_, messages, field) => {
    expect(await refusal(messages)).toEqual({ status: 400, type: "invalid_request_error", message: `${field}: ${TOO_MANY_CONVERSATION_NODES}` });
  });

  it("a conversation at the bound is within it; one node more is not", () => {
    // The input is one node, its keys the rest.
    const conversation = (keys: number) => [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "n", input: wide(keys) }] }];
    expect(jsonValueViolations(conversationJson(conversation(MAX_CONVERSATION_JSON_NODES - 1)), CONVERSATION_LIMITS)).toEqual([]);
    expect(jsonValueViolations(conversationJson(conversation(MAX_CONVERSATION_JSON_NODES)), CONVERSATION_LIMITS)).toEqual([{ field: "messages.0.content.0.input", description: TOO_MANY_CONVERSATION_NODES }]);
  });
});

describe("a long Claude Code session", () => {
  /**
   * Claude Code's tool calls, as its tools' schemas shape their inputs, in
   * about the mix a coding session makes them (reads, commands and edits
   * mostly, a todo list now and then): 4.75 nodes a call.
   */
  const CALLS: [string, JsonObject][] = [
    ["Read", { file_path: "/work/app/src/server.ts" }],
    ["Bash", { command: "npm test -- --run src/server.test.ts", description: "Run the server's tests", timeout: 120000 }],
    ["Grep", { pattern: "listen\\(", path: "/work/app/src", output_mode: "content" }],
    ["Read", { file_path: "/work/app/src/server.ts", offset: 120, limit: 80 }],
    ["Edit", { file_path: "/work/app/src/server.ts", old_string: "const port = 80;", new_string: "const port = Number(process.env.PORT ?? 80);" }],
    ["Bash", { command: "git diff --stat", description: "Show what changed" }],
    ["Read", { file_path: "/work/app/README.md" }],
    ["TodoWrite", { todos: [1, 2, 3, 4, 5].map((i) => ({ content: `Step ${i}`, status: i < 3 ? "completed" : "pending", activeForm: `Doing step ${i}` })) }],
    ["Grep", { pattern: "PORT", glob: "**/*.ts" }],
    ["Edit", { file_path: "/work/app/README.md", old_string: "port 80", new_string: "port $PORT (80 by default)" }],
    ["Read", { file_path: "/work/app/src/config.ts" }],
    ["Bash", { command: "npm run build", description: "Build" }],
  ];
  /** Rounds in the session: a 1,000,000-token context filled at 500 tokens a round. */
  const ROUNDS = 2_000;

  const messages: JsonValue[] = [
    { role: "user", content: [{ type: "text", text: "<system-reminder>context</system-reminder>" }, { type: "text", text: "make the port configurable" }] },
    { role: "system", content: "# Environment\n - Platform: linux", output_config: { effort: "medium" } },
  ];
  for (let i = 0; i < ROUNDS; i++) {
    const [name, input] = CALLS[i % CALLS.length]!;
    const id = `toolu_${String(i).padStart(6, "0")}`;
    const last = i === ROUNDS - 1;
    messages.push({ role: "assistant", content: [{ type: "thinking", thinking: "Next, I check it.", signature: "" }, { type: "text", text: "Let me check." }, { type: "tool_use", id, name, input }] });
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: id, content: `result ${i}`, ...(last ? { cache_control: { type: "ephemeral" } } : {}) }] });
  }
  const tools = CALLS.map(([name]) => ({ name, description: `The ${name} tool`, input_schema: { type: "object", properties: { file_path: { type: "string" } }, additionalProperties: false } }));

  it("holds a tenth of the budget at most", () => {
    expect(jsonValueViolations(conversationJson(messages), { ...CONVERSATION_LIMITS, nodes: MAX_CONVERSATION_JSON_NODES / 10 })).toEqual([]);
  });

  it("is served, every turn sent on", async () => {
    const res = await post({
      model: "gpt-4o-mini",
      max_tokens: 64,
      system: [{ type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: "ephemeral" } }],
      messages,
      tools: [...new Map(tools.map((tool) => [tool.name, tool])).values()],
      metadata: { user_id: "user_abc_account__session_1" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe("message");
    const sent = world.fake.chatRequests().at(-1) as { messages: { role: string; tool_calls?: { function: { arguments: string } }[] }[] };
    expect(sent.messages.filter((m) => m.role === "tool")).toHaveLength(ROUNDS);
    expect(sent.messages.flatMap((m) => m.tool_calls ?? []).at(-1)?.function.arguments).toBe(JSON.stringify(CALLS[(ROUNDS - 1) % CALLS.length]![1]));
  });
});
