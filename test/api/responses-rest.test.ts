// `/v1/responses` on the wire: events named and numbered, what cannot be
// honoured refused naming the field, and reasoning carried across turns in
// `encrypted_content` (Anthropic's signatures, for a Responses client that
// holds its own conversation, as Codex does).
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

let world: ThreeVendors;
let sdk: OpenAI;
beforeAll(async () => {
  world = await startThreeVendors();
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await world?.stop();
});

function post(body: unknown): Promise<Response> {
  return fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("POST /v1/responses on the wire", () => {
  it("names each event in its `event:` line as its data's type", async () => {
    const res = await post({ model: "gpt-4o-mini", input: "hi", stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const frames = (await res.text()).split("\n\n").filter(Boolean);
    for (const frame of frames) {
      const [, name] = /^event: (.*)$/m.exec(frame)!;
      expect(JSON.parse(/^data: (.*)$/m.exec(frame)![1]!).type).toBe(name);
    }
    expect(frames.at(-1)).toContain("response.completed");
  });

  it("refuses what it cannot honour, naming the field", async () => {
    const cases: [unknown, string, string][] = [
      [{ model: "gpt-4o-mini", input: [{ type: "item_reference", id: "msg_1" }] }, "input[0].type", "item references are not supported"],
      [{ model: "gpt-4o-mini", input: "x", background: true }, "background", "background responses are not supported"],
      [{ model: "gpt-4o-mini", input: "x", conversation: "conv_1" }, "conversation", "conversations are not supported"],
      [{ model: "gpt-4o-mini", input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type", '"input_file" is not supported'],
      [{ model: "gpt-4o-mini", input: "x", tool_choice: { type: "web_search" } }, "tool_choice.type", "built-in tools cannot run"],
      [{ model: "gpt-4o-mini", input: "x", text: { format: { type: "xml" } } }, "text.format.type", "must be"],
      // Names of Object.prototype's members are names like any other, not table entries.
      [{ model: "gpt-4o-mini", input: "x", tool_choice: "constructor" }, "tool_choice", "must be"],
      [{ model: "gpt-4o-mini", input: "x", store: "yes" }, "store", "must be true or false"],
      [{ model: "gpt-4o-mini", input: "x", stream: "true" }, "stream", "must be true or false"],
      [{ model: "gpt-4o-mini", input: [{ role: "toString", content: "x" }] }, "input[0].role", "must be"],
    ];
    for (const [body, param, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { param: string; message: string; code: string } };
      expect(error).toMatchObject({ param, code: "invalid_argument" });
      expect(error.message).toContain(message);
    }
  });

  it("takes Codex's input: developer messages, item ids, unknown request fields, and JSON-schema output", async () => {
    const answer = await sdk.responses.create({
      model: "gpt-4o-mini",
      input: [
        { type: "message", id: "msg_a", role: "developer", content: [{ type: "input_text", text: "You are a coding agent." }] } as OpenAI.Responses.ResponseInputItem,
        { type: "message", role: "user", content: [{ type: "input_text", text: "reply in json" }] },
      ],
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: "session-1",
      store: false,
      parallel_tool_calls: true,
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object", properties: { answer: { type: "string" } } }, strict: true } },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(JSON.parse(answer.output_text)).toEqual({ answer: "Echo: reply in json" });
    const sent = world.chatRequests("openai").at(-1)!;
    expect(sent.messages).toEqual([
      { role: "system", content: "You are a coding agent." },
      { role: "user", content: "reply in json" },
    ]);
    expect(sent.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "answer", strict: true } });
    expect(JSON.stringify(sent)).not.toMatch(/include|parallel_tool_calls/);
    expect(sent.prompt_cache_key).toBe("session-1");
  });
});

describe("reasoning across turns held by the client", () => {
  it("brings Anthropic's signed thinking back in encrypted_content, which Anthropic checks in the tool loop", async () => {
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: "function", name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } }, strict: false }];
    const stream = sdk.responses.stream({ model: "claude-sonnet-4-5", input: "weather in Rome", reasoning: { effort: "low" }, tools, max_output_tokens: 4096, store: false });
    const reasoningDeltas: string[] = [];
    stream.on("response.reasoning_text.delta", (event) => reasoningDeltas.push(event.delta));
    const first = await stream.finalResponse();
    const [reasoning, message, call] = first.output;
    expect(reasoning).toMatchObject({ type: "reasoning", encrypted_content: expect.stringMatching(/^swb1\./), content: [{ type: "reasoning_text", text: reasoningDeltas.join("") }] });
    expect(message).toMatchObject({ type: "message", content: [{ type: "output_text", text: "Let me check." }] });
    expect(call).toMatchObject({ type: "function_call", name: "lookup", arguments: JSON.stringify({ query: "weather in Rome" }) });

    const next = await sdk.responses.create({
      model: "claude-sonnet-4-5",
      reasoning: { effort: "low" },
      tools,
      max_output_tokens: 4096,
      store: false,
      input: [{ role: "user", content: "weather in Rome" }, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: (call as OpenAI.Responses.ResponseFunctionToolCall).call_id, output: "warm" }],
    });
    expect(next.output_text).toBe("Tool result: warm");
    // The assistant turn went back starting with the thinking block, its signature unchanged.
    const turn = world.chatRequests("anthropic").at(-1)!.messages[1];
    expect(turn.content[0]).toMatchObject({ type: "thinking", signature: expect.stringMatching(/.+/) });
  });
});

describe("a key at its limit of stored responses", () => {
  let small: ThreeVendors;
  beforeAll(async () => {
    small = await startThreeVendors({ env: { SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY: "0.001" } });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it("is refused a stored response before the vendor is asked (429), and may still call with store: false", async () => {
    const call = (store: boolean) =>
      fetch(`${small.gw.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
        // A short answer, whose room (reserved too) fits the tiny limit beside the input.
        body: JSON.stringify({ model: "gpt-4o-mini", input: "x".repeat(500), max_output_tokens: 10, store }),
      });
    expect((await call(true)).status).toBe(200);
    const asked = small.chatRequests("openai").length;
    const refused = await call(true);
    expect(refused.status).toBe(429);
    const { error } = (await refused.json()) as { error: { message: string; code: string } };
    expect(error.message).toMatch(/^this key keeps \d+ KB of stored responses and this call would store \d+ bytes more, past its limit of 1 KB: delete some/);
    expect(small.chatRequests("openai")).toHaveLength(asked);
    expect((await call(false)).status).toBe(200);
  });
});
