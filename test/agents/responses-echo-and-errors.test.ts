// What a Response repeats of its request is only what the gateway read and
// checked, as OpenAI types it; and /v1/responses refuses as OpenAI does: an
// unknown id's cancel is 404 (a stored one's is the caller's 400), no input
// names `input`, and a function_call_output with no call before it is
// refused naming the item, before any vendor is asked.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import type { Vendor } from "./support/three-vendors.js";
import { storedResponsesWorld } from "./support/stored-responses-world.js";

const MODEL = "gpt-4o-mini";

const world = storedResponsesWorld();

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** Every vendor's chat requests so far: a refused call adds none. */
const asked = () => (["anthropic", "openai", "dashscope"] as Vendor[]).map((vendor) => world.chatRequests(vendor).length);

/** A call's OpenAI-shaped refusal, checked to have reached no vendor. */
async function refusal(secret: string, body: Record<string, unknown>): Promise<{ status: number; type: string; code: string; param: string | null }> {
  const before = asked();
  const res = await post(secret, body);
  const { error } = (await res.json()) as { error: { type: string; code: string; param: string | null } };
  expect(asked()).toEqual(before);
  return { status: res.status, type: error.type, code: error.code, param: error.param };
}

const invalid = (param: string) => ({ status: 400, type: "invalid_request_error", code: "invalid_argument", param });

describe("what a Response repeats", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["a user of 65 characters beside a safety_identifier", { safety_identifier: "a", user: "U".repeat(65) }, "user"],
    ["a truncation that is no string", { truncation: { x: "T" } }, "truncation"],
    ["a truncation OpenAI does not have", { truncation: "middle" }, "truncation"],
    ["a parallel_tool_calls that is no boolean", { parallel_tool_calls: "P" }, "parallel_tool_calls"],
    ["a text.verbosity OpenAI does not have", { text: { verbosity: "chatty" } }, "text.verbosity"],
    ["a text.format.strict that is no boolean", { text: { format: { type: "json_schema", name: "s", schema: { type: "object" }, strict: "yes" } } }, "text.format.strict"],
    ["a text.format.description that is no string", { text: { format: { type: "json_schema", name: "s", schema: { type: "object" }, description: 3 } } }, "text.format.description"],
    ["a tool's strict that is no boolean", { tools: [{ type: "function", name: "f", strict: "yes" }] }, "tools[0].strict"],
    ["a tool_choice function without its name", { tools: [{ type: "function", name: "f" }], tool_choice: { type: "function" } }, "tool_choice.name"],
    ["a tool_choice of a built-in tool", { tools: [{ type: "function", name: "f" }], tool_choice: { type: "web_search_preview" } }, "tool_choice.type"],
    ["a reasoning.summary OpenAI does not have", { reasoning: { summary: "verbose" } }, "reasoning.summary"],
    ["a reasoning.summary that is no string", { reasoning: { summary: { x: "S" } } }, "reasoning.summary"],
    ["a reasoning.generate_summary OpenAI does not have", { reasoning: { generate_summary: "verbose" } }, "reasoning.generate_summary"],
  ])("refuses %s, naming it", async (what, body, param) => {
    const { secret } = await world.keyFor(`refused-${what.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 50)}`);
    expect(await refusal(secret, { model: MODEL, input: "hi", ...body })).toEqual(invalid(param));
  });

  it("repeats the fields it read and checked, and nothing the caller added to them", async () => {
    const { secret, sdk } = await world.keyFor("echo-kept");
    const body = {
      model: MODEL,
      input: "hi",
      safety_identifier: "s",
      user: "u".repeat(64),
      truncation: "auto",
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true, junk: "J" }, verbosity: "low", junk: "J".repeat(1000) },
      tools: [
        { type: "function", name: "weather", description: "the weather", parameters: { type: "object", properties: {} }, strict: true, junk: "J".repeat(1000) },
        { type: "function", name: "time" },
      ],
      tool_choice: { type: "function", name: "weather", junk: "J" },
      reasoning: { summary: "detailed", junk: "J" },
    };
    const res = await post(secret, body);
    expect(res.status).toBe(200);
    const response = (await res.json()) as Record<string, unknown>;
    const expected = {
      user: "u".repeat(64),
      truncation: "auto",
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true }, verbosity: "low" },
      safety_identifier: "s",
      tools: [
        { type: "function", name: "weather", description: "the weather", parameters: { type: "object", properties: {} }, strict: true },
        // strict not sent, and no schema for strict mode to hold it to: best-effort (responses-tools.test.ts).
        { type: "function", name: "time", description: null, parameters: null, strict: false },
      ],
      tool_choice: { type: "function", name: "weather" },
      reasoning: { effort: null, summary: "detailed" },
    };
    expect(response).toMatchObject(expected);
    for (const field of ["text", "tools", "tool_choice", "reasoning"] as const) expect(response[field]).toEqual(expected[field]);
    // Stored as answered.
    expect(await sdk.responses.retrieve(response.id as string)).toMatchObject(expected);
  });

  it("repeats a safety_identifier as the SDK reads it, and a reasoning.summary sent by its old name", async () => {
    const { sdk } = await world.keyFor("echo-sdk");
    const made = await sdk.responses.create({ model: MODEL, input: "hi", safety_identifier: "user-1234", reasoning: { generate_summary: "concise" }, tool_choice: "none" });
    expect(made).toMatchObject({ safety_identifier: "user-1234", reasoning: { effort: null, summary: "concise" }, tool_choice: "none" });
    expect(await sdk.responses.retrieve(made.id)).toMatchObject({ safety_identifier: "user-1234" });
  });

  it("repeats OpenAI's defaults for what was not sent", async () => {
    const { secret } = await world.keyFor("echo-defaults");
    const response = (await (await post(secret, { model: MODEL, input: "hi", store: false, text: { junk: 1 } })).json()) as Record<string, unknown>;
    expect(response).toMatchObject({ user: null, safety_identifier: null, truncation: "disabled", parallel_tool_calls: true, tools: [], tool_choice: "auto", reasoning: { effort: null, summary: null } });
    expect(response.text).toEqual({ format: { type: "text" } });
  });
});

describe("refusals as OpenAI words them", () => {
  it("cancel: an id this key has not stored is 404, as GET answers it; a stored response is the caller's 400", async () => {
    const { sdk } = await world.keyFor("cancel-owner");
    const { sdk: stranger } = await world.keyFor("cancel-stranger");
    const made = await sdk.responses.create({ model: MODEL, input: "hello" });
    for (const [client, id] of [
      [sdk, "resp_nonexist"],
      [stranger, made.id],
    ] as const) {
      const missing = await client.responses.cancel(id).catch((err: unknown) => err);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect(missing).toMatchObject({ status: 404, code: "response_not_found", error: { type: "invalid_request_error" } });
    }
    const refused = await sdk.responses.cancel(made.id).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, code: "response_not_cancellable", error: { type: "invalid_request_error" } });
    expect((refused as Error).message).toMatch(/not a background response/);
  });

  it.each([
    ["an empty input", { input: [] }],
    ["no input", {}],
  ])("%s names input", async (_, body) => {
    const { secret } = await world.keyFor(`no-input-${Object.keys(body).length}`);
    const { status, type, param } = await refusal(secret, { model: MODEL, ...body });
    expect({ status, type, param }).toEqual({ status: 400, type: "invalid_request_error", param: "input" });
  });

  it("a function_call_output with no function_call before it is refused naming the item, in the input or after a stored response", async () => {
    const { secret, sdk } = await world.keyFor("lone-output");
    const output = (callId: string) => ({ type: "function_call_output", call_id: callId, output: "sunny" });
    expect(await refusal(secret, { model: MODEL, input: [output("call_1")] })).toEqual(invalid("input[0].call_id"));
    // A call that comes after its output, or another call's, does not answer for it.
    const call = { type: "function_call", call_id: "call_2", name: "weather", arguments: "{}" };
    expect(await refusal(secret, { model: MODEL, input: [{ role: "user", content: "q" }, output("call_2"), call] })).toEqual(invalid("input[1].call_id"));
    expect(await refusal(secret, { model: MODEL, input: [{ role: "user", content: "q" }, call, output("call_2"), output("call_3")] })).toEqual(invalid("input[3].call_id"));
    // A stored response holds no call of that id either.
    const first = await sdk.responses.create({ model: MODEL, input: "hello" });
    expect(await refusal(secret, { model: MODEL, previous_response_id: first.id, input: [output("call_1")] })).toEqual(invalid("input[0].call_id"));
    // With its call before it, it is answered.
    expect((await post(secret, { model: MODEL, store: false, input: [{ role: "user", content: "q" }, call, output("call_2")] })).status).toBe(200);
  });
});
