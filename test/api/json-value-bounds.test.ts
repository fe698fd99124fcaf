// The free-form JSON a caller sends (its own fields passed on as vendor
// options, `vendor_options`, tool parameter schemas, response schemas) is
// bounded in keys and elements as well as in depth: a wide option object
// (400,000 keys took 4 s of the event loop) is refused as InvalidArgument in
// each surface's shape, naming the field and the bound, before any vendor is
// asked; a large real request (many tools with real-sized schemas) is served.
import { ConnectError, Code } from "@connectrpc/connect";
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import type { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { jsonValueViolations, MAX_JSON_NODES, TOO_MANY_NODES } from "../../src/common/json-value-bounds.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";

const world = rawRpcWorld();

/** The audit's shape: one flat object of `count` keys. */
const wide = (count: number): JsonObject => {
  const object: JsonObject = {};
  for (let i = 0; i < count; i++) object[`k${i}`] = i;
  return object;
};
// Past MAX_JSON_NODES, within the objects a body may hold at all (src/common/request-objects.ts): a wider one is refused before it is parsed.
const WIDE = wide(100_000);

/** A tool schema the size of Claude Code's largest (about 70 keys and elements). */
const schema = (): JsonObject => ({
  type: "object",
  properties: Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`arg${i}`, { type: "string", description: `argument ${i}`, enum: ["a", "b", "c"], default: "a" }]),
  ),
  required: ["arg0", "arg1"],
  additionalProperties: false,
});
/** Agents with several MCP servers: 200 tools, about 15,000 keys and elements. */
const MANY_TOOLS = 200;

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** The vendor requests so far: a refused call adds none. */
const asked = () => world.fake.chatRequests().length;

describe("REST surfaces", () => {
  it.each<[string, string, Record<string, unknown>, string]>([
    ["chat completions: an unknown field", "/v1/chat/completions", { opt: WIDE }, "opt"],
    ["chat completions: many unknown fields", "/v1/chat/completions", wide(MAX_JSON_NODES + 1), `k${MAX_JSON_NODES}`],
    ["chat completions: a tool's parameters", "/v1/chat/completions", { tools: [{ type: "function", function: { name: "t", parameters: { type: "object", properties: WIDE } } }] }, "tools[0].function.parameters"],
    ["chat completions: the response schema", "/v1/chat/completions", { response_format: { type: "json_schema", json_schema: { name: "s", schema: { enum: Object.keys(WIDE) } } } }, "response_format.json_schema.schema"],
    ["responses: an unknown field", "/v1/responses", { opt: WIDE }, "opt"],
    ["responses: a tool's parameters", "/v1/responses", { tools: [{ type: "function", name: "t", parameters: { type: "object", properties: WIDE } }] }, "tools[0].parameters"],
    ["responses: the response schema", "/v1/responses", { text: { format: { type: "json_schema", name: "s", schema: { properties: WIDE } } } }, "text.format.schema"],
  ])("%s: the OpenAI 400, naming the field", async (_, path, extra, param) => {
    const before = asked();
    const body = path === "/v1/responses" ? { model: "gpt-4o-mini", input: "hi", store: false, ...extra } : { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra };
    const res = await post(path, body);
    const { error } = (await res.json()) as { error: { type: string; code: string; param: string; message: string } };
    expect({ status: res.status, type: error.type, code: error.code, param: error.param }).toEqual({ status: 400, type: "invalid_request_error", code: "invalid_argument", param });
    expect(error.message).toContain(TOO_MANY_NODES);
    expect(asked()).toBe(before);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a field passed on to Anthropic", { context_management: WIDE }, "context_management"],
    ["a tool", { tools: [{ name: "t", input_schema: { type: "object", properties: WIDE } }] }, "tools.0"],
  ])("messages: %s is Anthropic's 400, naming the field", async (_, extra, field) => {
    const before = asked();
    const res = await post("/v1/messages", { model: "gpt-4o-mini", max_tokens: 5, messages: [{ role: "user", content: "hi" }], ...extra }, { "anthropic-version": "2023-06-01" });
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect({ status: res.status, type: body.type, error: body.error.type }).toEqual({ status: 400, type: "error", error: "invalid_request_error" });
    expect(body.error.message).toBe(`${field}: ${TOO_MANY_NODES}`);
    expect(asked()).toBe(before);
  });

  it("a request with many real-sized tools is served on each surface", async () => {
    const chat = await post("/v1/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      tools: Array.from({ length: MANY_TOOLS }, (_, i) => ({ type: "function", function: { name: `tool_${i}`, description: "d", parameters: schema() } })),
    });
    expect(chat.status).toBe(200);
    const responses = await post("/v1/responses", {
      model: "gpt-4o-mini",
      input: "hi",
      store: false,
      tools: Array.from({ length: MANY_TOOLS }, (_, i) => ({ type: "function", name: `tool_${i}`, description: "d", parameters: schema() })),
    });
    expect(responses.status).toBe(200);
    const messages = await post(
      "/v1/messages",
      { model: "gpt-4o-mini", max_tokens: 5, messages: [{ role: "user", content: "hi" }], tools: Array.from({ length: MANY_TOOLS }, (_, i) => ({ name: `tool_${i}`, description: "d", input_schema: schema() })) },
      { "anthropic-version": "2023-06-01" },
    );
    expect(messages.status).toBe(200);
    // What reached the vendor: every tool, schema and all.
    expect((world.fake.chatRequests().at(-1) as { tools: unknown[] }).tools).toHaveLength(MANY_TOOLS);
  });
});

describe("the typed API (gRPC and Connect): bounded right after decoding", () => {
  const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
  // Past the bound, within the RPCs' message size.
  const WIDER = wide(MAX_JSON_NODES + 10);

  it.each<["grpc" | "connect", string, MessageInitShape<typeof ChatRequestSchema>]>([
    ["grpc", "vendor_options", { vendorOptions: { opt: WIDER } }],
    ["connect", "vendor_options", { vendorOptions: WIDER }],
    ["grpc", "tools[1].parameters", { tools: [{ name: "a", parameters: schema() }, { name: "b", parameters: { properties: WIDER } }] }],
  ])("%s: %s is InvalidArgument naming it", async (protocol, field, extra) => {
    const before = asked();
    const err = await world.gw.client(protocol).chat({ ...hi, ...extra }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toBe(`${field}: ${TOO_MANY_NODES}`);
    expect(asked()).toBe(before);
  });

  it("many real-sized tools are served", async () => {
    const answer = await world.gw.client("grpc").chat({ ...hi, tools: Array.from({ length: MANY_TOOLS }, (_, i) => ({ name: `tool_${i}`, parameters: schema() })) });
    // The fake calls the first tool it is offered.
    expect(answer.message?.toolCalls[0]?.name).toBe("tool_0");
    expect((world.fake.chatRequests().at(-1) as { tools: unknown[] }).tools).toHaveLength(MANY_TOOLS);
  });
});

describe("the count itself", () => {
  it("names the bound", () => {
    expect(TOO_MANY_NODES).toContain(String(MAX_JSON_NODES));
  });

  it("charges an array its length without stepping through it", () => {
    let read = 0;
    const elements = new Proxy(new Array(10_000_000).fill(0), {
      get: (target, key, receiver) => {
        if (typeof key === "string" && /^\d+$/.test(key)) read++;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(jsonValueViolations([["x", { elements }]])).toEqual([{ field: "x", description: TOO_MANY_NODES }]);
    expect(read).toBe(0);
  });

  it("stops reading fields once the budget is spent", () => {
    let pulled = 0;
    function* endless(): Generator<readonly [string, unknown]> {
      for (;;) yield [`f${pulled++}`, 1];
    }
    expect(jsonValueViolations(endless())).toEqual([{ field: `f${MAX_JSON_NODES}`, description: TOO_MANY_NODES }]);
    expect(pulled).toBe(MAX_JSON_NODES + 1);
  });

  it("a value at the bound is within it; one node more is not", () => {
    // The field is one node, its keys the rest.
    expect(jsonValueViolations([["x", wide(MAX_JSON_NODES - 1)]])).toEqual([]);
    expect(jsonValueViolations([["x", wide(MAX_JSON_NODES)]])).toEqual([{ field: "x", description: TOO_MANY_NODES }]);
  });
});
