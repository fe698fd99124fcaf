// `/v1/messages` on the wire: the exact event stream (ping and event names
// included), bad requests refused in Anthropic's shape naming the field, and
// the stream writer on an answer replayed whole (the response cache's case).
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatDeltaSchema, ChatSummarySchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { AnthropicEventWriter } from "../../src/providers/anthropic/messages-events.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

let world: ThreeVendors;
beforeAll(async () => {
  world = await startThreeVendors();
});
afterAll(async () => {
  await world?.stop();
});

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${world.gw.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The events of an SSE body, as `event:` name and parsed `data:`. */
function events(text: string): { event: string; data: any }[] {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!);
      return { event, data };
    });
}

describe("POST /v1/messages on the wire", () => {
  it("streams Anthropic's exact sequence, each event named as its data's type, with x-api-key auth", async () => {
    const res = await post({ model: "gpt-4o-mini", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("x-switchboard-provider")).toBe("openai");
    const got = events(await res.text());
    for (const { event, data } of got) expect(data.type).toBe(event);
    const names = got.map((e) => e.event).filter((name, i, all) => name !== all[i - 1]);
    expect(names).toEqual(["message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(got[0]!.data.message).toMatchObject({ type: "message", role: "assistant", content: [], stop_reason: null, model: "gpt-4o-mini" });
    expect(got.at(-2)!.data).toMatchObject({ delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2, input_tokens: 4 } });
    expect(
      got
        .filter((e) => e.event === "content_block_delta")
        .map((e) => e.data.delta.text)
        .join(""),
    ).toBe("Echo: hi");
  });

  it("refuses what it cannot read in Anthropic's error shape, naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, "max_tokens: is required"],
      [{ model: "gpt-4o-mini", max_tokens: 10, messages: "x" }, "messages: must be an array"],
      [{ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "system", content: "x" }] }, 'messages.0.role: a "system" message must come right after a user turn'],
      [{ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: [{ type: "document", source: {} }] }] }, 'messages.0.content.0.type: "document" is not supported'],
      [{ model: "gpt-4o-mini", max_tokens: 10, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [{ role: "user", content: "x" }] }, 'tools.0.type: Anthropic\'s own tool "web_search_20250305"'],
      [{ model: "gpt-4o-mini", max_tokens: 10, thinking: { type: "sometimes" }, messages: [{ role: "user", content: "x" }] }, "thinking.type"],
      [{ model: "gpt-4o-mini", max_tokens: 10, stream: "true", messages: [{ role: "user", content: "x" }] }, "stream: must be true or false"],
      // Named as this API names it (the typed API's field is tool_choice.function_name).
      [{ model: "gpt-4o-mini", max_tokens: 10, tools: [{ name: "weather", input_schema: { type: "object" } }], tool_choice: { type: "tool", name: "time" }, messages: [{ role: "user", content: "x" }] }, 'tool_choice.name: "time" is not among the tools'],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as any;
      expect(answer).toMatchObject({ type: "error", error: { type: "invalid_request_error", reason: "invalid_argument" } });
      expect(answer.error.message).toContain(message);
    }
    const beta = await post({ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "x" }] }, { "anthropic-beta": "ok-2025, not a;list" });
    expect(((await beta.json()) as any).error.message).toContain("anthropic-beta");
  });

  it("answers an unknown key and an unknown path as Anthropic would", async () => {
    const unauthenticated = await post({ model: "gpt-4o-mini", max_tokens: 10, messages: [] }, { "x-api-key": "sk-nobody" });
    expect(unauthenticated.status).toBe(401);
    expect(((await unauthenticated.json()) as any).error.type).toBe("authentication_error");
  });
});

describe("the Anthropic event writer on an answer replayed whole", () => {
  it("writes each signed block from the block itself, then the text, then the tool call", () => {
    const writer = new AnthropicEventWriter("msg_1", "claude-sonnet-4-5");
    const blocks = [create(ReasoningBlockSchema, { text: "first", signature: "s1" }), create(ReasoningBlockSchema, { redacted: "opaque" })];
    const written = [
      ...writer.start(),
      ...writer.delta(
        create(ChatDeltaSchema, { reasoningContent: "first", reasoning: blocks, content: "done", toolCalls: [{ index: 0, id: "toolu_1", name: "lookup", argumentsFragment: '{"q":1}' }] }),
      ),
      ...writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.TOOL_CALLS })),
    ];
    expect(written.map((e) => (e.event === "content_block_delta" ? e.data.delta : e.event === "content_block_start" ? e.data.content_block : e.event))).toEqual([
      "message_start",
      "ping",
      { type: "thinking", thinking: "", signature: "" },
      { type: "thinking_delta", thinking: "first" },
      { type: "signature_delta", signature: "s1" },
      "content_block_stop",
      { type: "redacted_thinking", data: "opaque" },
      "content_block_stop",
      { type: "text", text: "" },
      { type: "text_delta", text: "done" },
      "content_block_stop",
      { type: "tool_use", id: "toolu_1", name: "lookup", input: {} },
      { type: "input_json_delta", partial_json: '{"q":1}' },
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(written.at(-2)!.data.delta).toEqual({ stop_reason: "tool_use", stop_sequence: null });
    expect(written.filter((e) => e.event === "content_block_start").map((e) => e.data.index)).toEqual([0, 1, 2, 3]);
  });
});
