// Claude's tool input streams on `/v1/messages` as it comes, and an answer cut
// at max_tokens in the middle of a tool call ends with input that is no JSON
// (Claude Code's large file writes hit it). The stream ends as Anthropic's
// does, stop reason max_tokens, and the message thread keeps the call with the
// input a whole answer would give it: it ended in an `internal` error event.
import type { ServerResponse } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const ANTHROPIC_KEY = "sk-ant-cut-tool-0123456789abcdef";
const LOOKUP = { name: "lookup", input_schema: { type: "object" as const, properties: { query: { type: "string" } } } };

/** An Anthropic stream cut at max_tokens in the middle of a tool call's input. */
function toolCallCutShort(): string {
  const events: [string, unknown][] = [
    ["message_start", { type: "message_start", message: { id: "msg_cut", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 0 } } }],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_cut", name: "lookup", input: {} } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"query": "weath' } }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    ["message_delta", { type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 5 } }],
    ["message_stop", { type: "message_stop" }],
  ];
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

let vendor: FakeServer;
let gw: TestGateway;
let sdk: Anthropic;

beforeAll(async () => {
  vendor = await startFakeServer((_req, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(toolCallCutShort());
  });
  gw = await startGateway({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: vendor.origin }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR });
  sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

it("streams a tool call cut at max_tokens to its end, as Anthropic does", async () => {
  const stream = sdk.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 5, tools: [LOOKUP], messages: [{ role: "user", content: "weather in Paris" }] });
  const final = await stream.finalMessage();
  expect(final.stop_reason).toBe("max_tokens");
  expect(final.content).toEqual([expect.objectContaining({ type: "tool_use", id: "toolu_cut", name: "lookup" })]);
  expect(gw.logs.entries.filter((line) => line.status === "internal")).toEqual([]);
});

it("keeps the cut call in its message thread, with the input a whole answer gives it", async () => {
  const created = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 5, stream: true, thread: { type: "create" }, tools: [LOOKUP], messages: [{ role: "user", content: "weather in Paris" }] }),
  });
  const events = await created.text();
  expect(events).toContain("event: message_stop");
  const id = /"id":"(msg_[0-9a-f]+)"/.exec(events)![1]!;

  const continued = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 5,
      stream: true,
      thread: { type: "continue", previous_message_id: id },
      messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_cut", content: "sunny" }] }],
    }),
  });
  expect(continued.status).toBe(200);
  await continued.text();
  const sent = vendor.requests.at(-1)!.body as { messages: { role: string; content: unknown }[] };
  expect(sent.messages[1]).toEqual({ role: "assistant", content: [{ type: "tool_use", id: "toolu_cut", name: "lookup", input: {} }] });
});
