// Function tools on `/v1/responses`, as OpenAI's Responses API types them
// (openai-node `resources/responses/responses.ts`: FunctionTool,
// ToolChoiceFunction, `parallel_tool_calls`), driven through the official
// SDK: what the Response repeats and what each vendor is sent agree.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

let world: ThreeVendors;
let sdk: OpenAI;
beforeAll(async () => {
  world = await startThreeVendors({ openai: { models: ["gpt-4o-mini", "o3"] } });
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
});

/** A schema strict mode takes as it is: every object closed, every property required. */
const CLOSED = { type: "object", properties: { query: { type: "string" }, filter: { type: "object", properties: { year: { type: ["integer", "null"] } }, required: ["year"], additionalProperties: false } }, required: ["query", "filter"], additionalProperties: false };
/** A schema with an optional property, as most hand-written ones are. */
const LOOSE = { type: "object", properties: { query: { type: "string" }, limit: { type: "integer" } }, required: ["query"] };

const tool = (name: string, parameters: Record<string, unknown> | null, strict?: boolean | null) =>
  ({ type: "function", name, parameters, ...(strict === undefined ? {} : { strict }) }) as OpenAI.Responses.FunctionTool;

async function refusal(body: Record<string, unknown>): Promise<{ status: number; error: { type: string; code: string; param: string; message: string } }> {
  const res = await fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, error: ((await res.json()) as { error: { type: string; code: string; param: string; message: string } }).error };
}

describe("tool_choice", () => {
  it("names one function flat, as ToolChoiceFunction does: the vendor is made to call it, and the Response repeats it so", async () => {
    const response = await sdk.responses.create({ model: "gpt-4o-mini", input: "weather?", tools: [tool("time", LOOSE, false), tool("weather", LOOSE, false)], tool_choice: { type: "function", name: "weather" } });
    expect(world.chatRequests("openai").at(-1)!.tool_choice).toEqual({ type: "function", function: { name: "weather" } });
    expect(response.tool_choice).toEqual({ type: "function", name: "weather" });
    expect(response.output.find((item) => item.type === "function_call")).toMatchObject({ name: "weather" });
  });

  it('"required" makes the vendor call a tool, each in its own words', async () => {
    const openai = await sdk.responses.create({ model: "gpt-4o-mini", input: "weather?", tools: [tool("weather", LOOSE, false)], tool_choice: "required" });
    expect(world.chatRequests("openai").at(-1)!.tool_choice).toBe("required");
    expect(openai.tool_choice).toBe("required");
    await sdk.responses.create({ model: "claude-sonnet-4-5", input: "weather?", tools: [tool("weather", LOOSE, false)], tool_choice: "required" });
    expect(world.chatRequests("anthropic").at(-1)!.tool_choice).toEqual({ type: "any" });
  });

  it("refuses Chat Completions' form ({type, function: {name}}) as OpenAI does, naming the field and the form it takes", async () => {
    const asked = world.chatRequests("openai").length;
    const { status, error } = await refusal({ model: "gpt-4o-mini", input: "x", tools: [tool("weather", LOOSE, false)], tool_choice: { type: "function", function: { name: "weather" } } });
    expect(status).toBe(400);
    expect(error).toMatchObject({ type: "invalid_request_error", code: "invalid_argument", param: "tool_choice.name" });
    expect(error.message).toContain('{"type": "function", "name": "weather"}');
    expect(world.chatRequests("openai").length).toBe(asked);
  });

  it("refuses a function that is not among the tools, naming the Responses API's field", async () => {
    const { status, error } = await refusal({ model: "gpt-4o-mini", input: "x", tools: [tool("weather", LOOSE, false)], tool_choice: { type: "function", name: "time" } });
    expect(status).toBe(400);
    expect(error).toMatchObject({ code: "invalid_argument", param: "tool_choice.name" });
    expect(error.message).toContain('"time" is not among the tools');
  });

  it("allowed_tools (ToolChoiceAllowed) offers the vendor only the named functions, in its mode, and the Response repeats it", async () => {
    const tools = [tool("time", LOOSE, false), tool("weather", LOOSE, false), tool("news", LOOSE, false)];
    const allowed: OpenAI.Responses.ToolChoiceAllowed = { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "weather" }, { type: "function", name: "news" }] };
    const response = await sdk.responses.create({ model: "gpt-4o-mini", input: "weather?", tools, tool_choice: allowed });
    const sent = world.chatRequests("openai").at(-1)!;
    expect(sent.tool_choice).toBe("required");
    expect(sent.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual(["weather", "news"]);
    expect(response.tool_choice).toEqual(allowed);
    expect(response.tools.map((t) => (t as OpenAI.Responses.FunctionTool).name)).toEqual(["time", "weather", "news"]);
    await sdk.responses.create({ model: "claude-sonnet-4-5", input: "weather?", tools, tool_choice: { ...allowed, mode: "auto" } });
    const claude = world.chatRequests("anthropic").at(-1)!;
    expect(claude.tool_choice).toEqual({ type: "auto" });
    expect(claude.tools.map((t: { name: string }) => t.name)).toEqual(["weather", "news"]);
  });

  it("refuses an allowed_tools that names no tool, a tool not sent, or a mode it has not", async () => {
    const tools = [tool("weather", LOOSE, false)];
    const cases: [Record<string, unknown>, string, string][] = [
      [{ type: "allowed_tools", mode: "auto", tools: [] }, "tool_choice.tools", "at least one"],
      [{ type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "time" }] }, "tool_choice.tools[0].name", '"time" is not among the tools'],
      [{ type: "allowed_tools", mode: "none", tools: [{ type: "function", name: "weather" }] }, "tool_choice.mode", ""],
      [{ type: "allowed_tools", mode: "auto", tools: [{ type: "web_search" }] }, "tool_choice.tools[0].type", "built-in tools"],
    ];
    for (const [toolChoice, param, says] of cases) {
      const { status, error } = await refusal({ model: "gpt-4o-mini", input: "x", tools, tool_choice: toolChoice });
      expect(status).toBe(400);
      expect(error).toMatchObject({ code: "invalid_argument", param });
      expect(error.message).toContain(says);
    }
  });
});

describe("parallel_tool_calls", () => {
  it("is not sent to an o-series model, which refuses it (Codex always sends it): the call goes through, and says so", async () => {
    const { data, response } = await sdk.responses.create({ model: "o3", input: "weather?", tools: [tool("weather", LOOSE, false)], parallel_tool_calls: true }).withResponse();
    expect(world.chatRequests("openai").at(-1)!).not.toHaveProperty("parallel_tool_calls");
    expect(response.headers.get("x-switchboard-adjusted")).toContain("parallel_tool_calls=dropped(o3 calls one function at a time)");
    expect(data.parallel_tool_calls).toBe(true);
  });
});

describe("a function tool's strict", () => {
  it("is true when not sent (OpenAI's default) for a schema strict mode takes: repeated so, and sent so", async () => {
    for (const strict of [undefined, null]) {
      const response = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", tools: [tool("search", CLOSED, strict)], tool_choice: "none" });
      expect(response.tools[0]).toMatchObject({ name: "search", strict: true });
      expect(world.chatRequests("openai").at(-1)!.tools[0].function).toMatchObject({ name: "search", strict: true, parameters: CLOSED });
    }
  });

  it("is false when not sent for a schema strict mode would have to rewrite (its optional arguments made mandatory): the call is best-effort, and its Response says so", async () => {
    for (const parameters of [LOOSE, null]) {
      const response = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", tools: [tool("search", parameters)], tool_choice: "none" });
      expect(response.tools[0]).toMatchObject({ name: "search", strict: false });
      expect(world.chatRequests("openai").at(-1)!.tools[0].function).not.toHaveProperty("strict");
    }
  });

  it("is the caller's when sent: false turns strict mode off, and true is sent on whatever the schema (the vendor judges it)", async () => {
    const off = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", tools: [tool("search", CLOSED, false)], tool_choice: "none" });
    expect(off.tools[0]).toMatchObject({ strict: false });
    expect(world.chatRequests("openai").at(-1)!.tools[0].function).not.toHaveProperty("strict");
    const on = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", tools: [tool("search", LOOSE, true)], tool_choice: "none" });
    expect(on.tools[0]).toMatchObject({ strict: true });
    expect(world.chatRequests("openai").at(-1)!.tools[0].function).toMatchObject({ strict: true, parameters: LOOSE });
  });

  it("is repeated the same in a stream's events as in the Response", async () => {
    const stream = sdk.responses.stream({ model: "gpt-4o-mini", input: "x", tools: [tool("search", CLOSED), tool("lookup", LOOSE)], tool_choice: "none" });
    let created: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === "response.created") created = event.response;
    const done = await stream.finalResponse();
    for (const response of [created!, done]) expect(response.tools.map((t) => (t as OpenAI.Responses.FunctionTool).strict)).toEqual([true, false]);
  });
});

describe("parallel_tool_calls", () => {
  it("false reaches the vendor (OpenAI's field; Anthropic's disable_parallel_tool_use), as the Response repeats it", async () => {
    const openai = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", tools: [tool("search", LOOSE, false)], parallel_tool_calls: false });
    expect(openai.parallel_tool_calls).toBe(false);
    expect(world.chatRequests("openai").at(-1)!.parallel_tool_calls).toBe(false);
    await sdk.responses.create({ model: "claude-sonnet-4-5", input: "x", tools: [tool("search", LOOSE, false)], parallel_tool_calls: false });
    expect(world.chatRequests("anthropic").at(-1)!.tool_choice).toMatchObject({ disable_parallel_tool_use: true });
  });

  it("is not sent without tools (Chat Completions refuses it there; the Responses API takes it)", async () => {
    const response = await sdk.responses.create({ model: "gpt-4o-mini", input: "x", parallel_tool_calls: false });
    expect(response.parallel_tool_calls).toBe(false);
    expect(world.chatRequests("openai").at(-1)!).not.toHaveProperty("parallel_tool_calls");
  });
});
