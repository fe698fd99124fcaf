// What /v1/responses makes of the fields a caller (Codex, the OpenAI SDKs)
// may send beyond the conversation: nothing asked for is ignored without a
// word. Log probabilities (include "message.output_text.logprobs", with
// top_logprobs) are asked of the vendor and come back in each output_text
// part and its stream's events, or are refused, naming include, for a model
// that gives none; max_tool_calls, which no vendor's chat API can honour, is
// a 400 naming it; a field the Responses API does not have is the caller's
// own, as on /v1/chat/completions: sent on to a vendor of the OpenAI dialect,
// reported as dropped for Claude. What Codex sends still goes through.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const GPT = "gpt-4o-mini";
const CLAUDE = "claude-sonnet-4-5";
/** The fake's tokens are its answer's pieces, 4 characters each ("Echo: café"). */
const TOKENS = ["Echo", ": ca", "fé"];
const LOGPROBS = { input: "café", include: ["message.output_text.logprobs" as const], top_logprobs: 2 };

let world: ThreeVendors;
let sdk: OpenAI;

beforeAll(async () => {
  world = await startThreeVendors({ file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
});

const post = (body: Record<string, unknown>) =>
  fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** Every vendor's chat requests so far: a refused call adds none. */
const asked = () => (["anthropic", "openai", "dashscope"] as const).map((vendor) => world.chatRequests(vendor).length);

/** A call's refusal in OpenAI's error envelope, checked to have reached no vendor. */
async function refusal(body: Record<string, unknown>): Promise<{ status: number; error: { message: string; type: string; param: string | null; code: string } }> {
  const before = asked();
  const res = await post(body);
  const { error } = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  expect(asked()).toEqual(before);
  return { status: res.status, error };
}

type OutputText = OpenAI.Responses.ResponseOutputText;

function textPart(response: OpenAI.Responses.Response): OutputText {
  const message = response.output.find((item) => item.type === "message") as OpenAI.Responses.ResponseOutputMessage;
  return message.content.find((part) => part.type === "output_text") as OutputText;
}

describe("log probabilities on /v1/responses", () => {
  it("include message.output_text.logprobs with top_logprobs: asked of the vendor, and in the output_text part", async () => {
    const response = await sdk.responses.create({ model: GPT, ...LOGPROBS });
    expect(world.chatRequests("openai").at(-1)).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const { text, logprobs } = textPart(response);
    expect(text).toBe("Echo: café");
    expect(logprobs!.map((token) => token.token)).toEqual(TOKENS);
    expect(logprobs![2]).toEqual({
      token: "fé",
      logprob: -0.03,
      bytes: [102, 195, 169],
      top_logprobs: [
        { token: "fé", logprob: -0.03, bytes: [102, 195, 169] },
        { token: "alt1", logprob: -1.03, bytes: [97, 108, 116, 49] },
      ],
    });
  });

  it("a stream's text deltas carry their tokens, and its done events and final Response all of them", async () => {
    const stream = sdk.responses.stream({ model: GPT, ...LOGPROBS });
    const deltaTokens: string[] = [];
    const doneTokens: string[] = [];
    stream.on("response.output_text.delta", (event) => deltaTokens.push(...event.logprobs.map((token) => token.token)));
    stream.on("response.output_text.done", (event) => doneTokens.push(...event.logprobs.map((token) => token.token)));
    const final = await stream.finalResponse();
    expect(deltaTokens).toEqual(TOKENS);
    expect(doneTokens).toEqual(TOKENS);
    expect(textPart(final).logprobs!.map((token) => token.token)).toEqual(TOKENS);
    expect(textPart(final).logprobs![0]!.top_logprobs).toHaveLength(2);
  });

  it("not included: none asked, none written", async () => {
    const response = await sdk.responses.create({ model: GPT, input: "café" });
    expect(world.chatRequests("openai").at(-1)).not.toHaveProperty("logprobs");
    expect(textPart(response).logprobs).toEqual([]);
  });

  it("asked of Claude, which gives none: 400 naming include, no vendor asked", async () => {
    const { status, error } = await refusal({ model: CLAUDE, ...LOGPROBS });
    expect(status).toBe(400);
    expect(error).toMatchObject({ type: "invalid_request_error", param: "include" });
    expect(error.message).toContain("returns no log probabilities");
  });
});

describe("fields the gateway cannot honour: 400 in OpenAI's envelope, naming the field, no vendor asked", () => {
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ["max_tool_calls", { max_tool_calls: 3 }, "max_tool_calls", /cannot cap a response's tool calls/],
    ["top_logprobs without the include that returns the tokens", { top_logprobs: 2 }, "top_logprobs", /only with include/],
    ["an include OpenAI does not have", { include: ["reasoning.encrypted_content", "message.everything"] }, "include[1]", /not something a Response can include/],
    ["Chat Completions' max_tokens", { max_tokens: 50 }, "max_tokens", /send max_output_tokens/],
    ["Chat Completions' messages", { messages: [{ role: "user", content: "other" }] }, "messages", /send input/],
    ["Chat Completions' logprobs", { logprobs: true }, "logprobs", /message\.output_text\.logprobs/],
  ])("%s", async (_, fields, param, message) => {
    const { status, error } = await refusal({ model: GPT, input: "hi", ...fields });
    expect(status).toBe(400);
    expect(error).toMatchObject({ type: "invalid_request_error", code: "invalid_argument", param });
    expect(error.message).toMatch(message);
  });

  it("max_tool_calls null asks nothing", async () => {
    expect((await post({ model: GPT, input: "hi", max_tool_calls: null })).status).toBe(200);
  });
});

describe("a field the Responses API does not have is the caller's own, as on /v1/chat/completions", () => {
  it("goes to a vendor of the OpenAI dialect as it was sent", async () => {
    const res = await post({ model: GPT, input: "hi", knob_of_some_vendor: { level: 3 } });
    expect(res.status).toBe(200);
    expect(world.chatRequests("openai").at(-1)).toMatchObject({ knob_of_some_vendor: { level: 3 } });
  });

  it("is dropped for Claude, and said to be in x-switchboard-adjusted", async () => {
    const res = await post({ model: CLAUDE, input: "hi", knob_of_some_vendor: 3 });
    expect(res.status).toBe(200);
    expect(world.chatRequests("anthropic").at(-1)).not.toHaveProperty("knob_of_some_vendor");
    expect(res.headers.get("x-switchboard-adjusted")).toContain("knob_of_some_vendor=dropped(");
  });

  it("of a Chat Completions field's name, is checked as that surface checks it", async () => {
    const { status, error } = await refusal({ model: GPT, input: "hi", functions: "f" });
    expect({ status, param: error.param }).toEqual({ status: 400, param: "functions" });
  });
});

describe("what Codex sends", () => {
  it("is answered, and none of the Responses API's own fields reaches a Chat Completions vendor", async () => {
    const stream = await post({
      model: GPT,
      stream: true,
      input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
      tools: [{ type: "function", name: "exec_command", parameters: { type: "object", properties: {} } }],
      tool_choice: "auto",
      parallel_tool_calls: true,
      reasoning: { summary: "auto" },
      store: false,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: "session-1",
      client_metadata: { session_id: "session-1", turn_id: "turn-1" },
      stream_options: { include_obfuscation: false },
      text: { verbosity: "low" },
    });
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain("response.completed");
    const sent = world.chatRequests("openai").at(-1)!;
    for (const field of ["include", "client_metadata", "store", "reasoning", "text", "logprobs"]) expect(sent).not.toHaveProperty(field);
    // OpenAI routes its prompt cache by it, on Chat Completions as on the Responses API.
    expect(sent.prompt_cache_key).toBe("session-1");
    expect(sent.stream_options).toEqual({ include_usage: true });
  });
});
