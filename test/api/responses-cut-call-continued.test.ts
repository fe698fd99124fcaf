// A stored Response Claude answered, cut at max_output_tokens in the middle of
// a function call, keeps the arguments as the model wrote them (`{"query":
// "weath`), as OpenAI's Responses do. Continued with previous_response_id and
// the call's output, the conversation went to Claude with that text as the
// call's input, which it needs as an object: 400 upstream_bad_request, and the
// conversation could go no further. The call now goes with `{}`, as a cut
// tool input reads on `/v1/messages`; what the Responses show is unchanged.
import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const ANTHROPIC_KEY = "sk-ant-cut-call-0123456789abcdef";
const LOOKUP = { type: "function", name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } }, strict: false };
const CUT_ARGUMENTS = '{"query": "weath';

type Json = Record<string, any>;

/** Claude's stream cut at max_tokens in the middle of a tool call's input. */
const CALL_CUT_SHORT = [
  { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 0 } } },
  { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "lookup", input: {} } },
  { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: CUT_ARGUMENTS } },
  { type: "content_block_stop", index: 0 },
  { type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 5 } },
  { type: "message_stop" },
]
  .map((data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
  .join("");
/** Claude's whole answer to the tool result. */
const ANSWER = { id: "msg_2", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [{ type: "text", text: "Sunny." }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 9, output_tokens: 2 } };

let vendor: FakeServer;
let gw: TestGateway;

beforeAll(async () => {
  // The first call streams (the cut one); its continuation is a whole answer.
  vendor = await startFakeServer((req, res: ServerResponse) => {
    const streamed = (req.body as { stream?: boolean }).stream === true;
    res.writeHead(200, { "content-type": streamed ? "text/event-stream" : "application/json" });
    res.end(streamed ? CALL_CUT_SHORT : JSON.stringify(ANSWER));
  });
  gw = await startGateway({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: vendor.origin }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR });
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

async function call(method: string, path: string, body?: Json): Promise<{ status: number; text: string }> {
  const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

/** The Response a stream ended with. */
function lastResponse(events: string): Json {
  const data = events.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)) as Json);
  return data.at(-1)!.response as Json;
}

it("continues a stored response cut inside a function call, the call going with {} while the Responses show what the model wrote", async () => {
  const cut = await call("POST", "/v1/responses", { model: "claude-sonnet-4-5", input: "weather in Paris", tools: [LOOKUP], max_output_tokens: 5, stream: true });
  expect(cut.status).toBe(200);
  const response = lastResponse(cut.text);
  expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
  expect(response.output).toEqual([expect.objectContaining({ type: "function_call", call_id: "toolu_1", name: "lookup", arguments: CUT_ARGUMENTS, status: "incomplete" })]);
  // Kept as it was answered.
  expect(JSON.parse((await call("GET", `/v1/responses/${response.id}`)).text).output[0].arguments).toBe(CUT_ARGUMENTS);

  const continued = await call("POST", "/v1/responses", {
    model: "claude-sonnet-4-5",
    previous_response_id: response.id,
    input: [{ type: "function_call_output", call_id: "toolu_1", output: "sunny" }],
    tools: [LOOKUP],
  });
  expect(continued.status, continued.text).toBe(200);
  const answer = JSON.parse(continued.text) as Json;
  expect(answer.output).toEqual([expect.objectContaining({ type: "message", content: [expect.objectContaining({ text: "Sunny." })] })]);
  const sent = vendor.requests.at(-1)!.body as { messages: Json[] };
  expect(sent.messages[1]).toEqual({ role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] });

  // What the continuation was answered from lists the call as its Response showed it.
  const items = JSON.parse((await call("GET", `/v1/responses/${answer.id}/input_items?order=asc`)).text) as { data: Json[] };
  expect(items.data.find((item) => item.type === "function_call")).toMatchObject({ call_id: "toolu_1", arguments: CUT_ARGUMENTS });
});
