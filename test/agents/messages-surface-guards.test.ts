// `/v1/messages` as the official Anthropic SDK meets it, on what the audit of
// the agent surfaces found (/tmp/audit-agents.md): another vendor's broken
// tool arguments in a stream, the fields sent on to Anthropic as they are and
// the budget, the request id the SDK reads, and Anthropic's error shape for
// paths no route matches.
import Anthropic from "@anthropic-ai/sdk";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatDeltaSchema, ChatSummarySchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { AnthropicEventWriter } from "../../src/providers/anthropic/messages-events.js";
import { MASTER_KEY } from "../support/gateway.js";
import { startThreeVendors, type ThreeVendors } from "./support/three-vendors.js";

const LOOKUP: Anthropic.Tool = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object", properties: { query: { type: "string" } } } };

let world: ThreeVendors;
let sdk: Anthropic;
/** What the OpenAI fake's model writes as the arguments of its tool call. */
let toolArguments = "{}";

beforeAll(async () => {
  world = await startThreeVendors({
    file: { traffic: { retry: { max_attempts: 1 } } },
    openai: { toolCall: (body) => (body.tools?.length ? { name: "lookup", arguments: toolArguments } : undefined) },
  });
  sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
});

describe("a streamed tool call from a model that is not Anthropic's", () => {
  const ask = { model: "gpt-4o-mini", max_tokens: 1024, tools: [LOOKUP], messages: [{ role: "user" as const, content: "look it up" }] };

  // Nested past what JSON.stringify can write again (a model may be talked into it): as unreadable as the rest.
  const tooDeep = `{"a":${"[".repeat(6_000)}${"]".repeat(6_000)}}`;
  const cases = ["{not json", '{"a":1}{"b":2}', "[1,2]", ""].map((args) => [JSON.stringify(args), args]).concat([["nested 6,000 levels deep", tooDeep]]);
  it.each(cases)("comes as the unary answer's object when the arguments are %s", async (_, args) => {
    toolArguments = args;
    const unary = await sdk.messages.create(ask);
    const streamed = await sdk.messages.stream(ask).finalMessage();
    expect(unary.content).toEqual([expect.objectContaining({ type: "tool_use", name: "lookup", input: {} })]);
    expect(streamed.content).toEqual([expect.objectContaining({ type: "tool_use", name: "lookup", input: {} })]);
    expect(streamed.stop_reason).toBe("tool_use");

    // The block goes back on the next turn as the client got it, and the gateway takes it.
    toolArguments = "{}";
    const call = streamed.content[0] as Anthropic.ToolUseBlock;
    const next = await sdk.messages.create({
      ...ask,
      messages: [...ask.messages, { role: "assistant", content: streamed.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "found" }] }],
    });
    expect(next.content).toEqual([{ type: "text", text: "Tool result: found" }]);
  });

  it("keeps well-formed arguments as they were", async () => {
    toolArguments = JSON.stringify({ query: "Oslo", nested: { deep: [1, "two"] } });
    const streamed = await sdk.messages.stream(ask).finalMessage();
    expect(streamed.content).toEqual([expect.objectContaining({ type: "tool_use", input: { query: "Oslo", nested: { deep: [1, "two"] } } })]);
  });
});

describe("the Anthropic event writer with a vendor whose tool input is a JSON object (Anthropic's own)", () => {
  it("streams the input's fragments on as they come", () => {
    const writer = new AnthropicEventWriter("msg_1", "claude-sonnet-4-5", { toolInputStreams: true });
    const fragments = ['{"que', 'ry":"x"}'].map((argumentsFragment, i) => create(ChatDeltaSchema, { toolCalls: [{ index: 0, ...(i === 0 ? { id: "toolu_1", name: "lookup" } : {}), argumentsFragment }] }));
    const written = [...fragments.flatMap((delta) => writer.delta(delta)), ...writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.TOOL_CALLS }))];
    expect(written.filter((e) => e.event === "content_block_delta").map((e) => e.data.delta)).toEqual([
      { type: "input_json_delta", partial_json: '{"que' },
      { type: "input_json_delta", partial_json: 'ry":"x"}' },
    ]);
  });

  it("holds each call until the next block or the end otherwise, in the calls' order", () => {
    const writer = new AnthropicEventWriter("msg_1", "qwen-plus");
    const written = [
      ...writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 1, id: "call_b", name: "second", argumentsFragment: '{"b":' }] })),
      ...writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 0, id: "call_a", name: "first", argumentsFragment: "[1]" }] })),
      ...writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 1, argumentsFragment: "2}" }] })),
      ...writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.TOOL_CALLS })),
    ];
    const data = (e: (typeof written)[number]) => e.data as any;
    expect(written.map((e) => (e.event === "content_block_delta" ? data(e).delta.partial_json : e.event === "content_block_start" ? data(e).content_block.id : e.event))).toEqual([
      "call_a",
      "{}",
      "content_block_stop",
      "call_b",
      '{"b":2}',
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });

  it("says max_tokens, not tool_use, for a tool call cut at the output limit (it is not one to run)", () => {
    const stopOf = (finishReason: FinishReason, vendor = "claude-sonnet-4-5") => {
      const writer = new AnthropicEventWriter("msg_1", vendor, { toolInputStreams: true });
      writer.delta(create(ChatDeltaSchema, { toolCalls: [{ index: 0, id: "toolu_1", name: "write", argumentsFragment: '{"file_path":"/tmp/x.py","content":"pri' }] }));
      const delta = writer.finish(create(ChatSummarySchema, { finishReason })).find((e) => e.event === "message_delta");
      return (delta?.data as any).delta.stop_reason;
    };
    expect(stopOf(FinishReason.LENGTH)).toBe("max_tokens");
    expect(stopOf(FinishReason.CONTENT_FILTER)).toBe("refusal");
    // Gemini ends a call of tools with STOP: the call is still one to run.
    expect(stopOf(FinishReason.STOP, "gemini-2.5-flash")).toBe("tool_use");
  });
});

describe("fields /v1/messages sends on to Anthropic as they are", () => {
  it.each([
    ["service_tier", "priority"],
    ["speed", "fast"],
    ["inference_geo", "us"],
    ["mcp_servers", [{ type: "url", url: "http://attacker.example/mcp", name: "x" }]],
    ["container", "container_1"],
  ])("are refused, as vendor_options are, when the ledger cannot price them: %s %j", async (field, value) => {
    const before = world.chatRequests("anthropic").length;
    const err = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }], [field]: value } as any).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringMatching(new RegExp(`^${field}: `)), reason: "invalid_argument" } });
    expect(world.chatRequests("anthropic").length).toBe(before);
  });

  it("go on when they cost no more than the list price", async () => {
    await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }], service_tier: "standard_only", mcp_servers: [] } as any);
    expect(world.chatRequests("anthropic").at(-1)).toMatchObject({ service_tier: "standard_only", mcp_servers: [] });
  });

  it("are refused as vendor options on Chat Completions by the same rule", async () => {
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "x" }], speed: "fast" }),
    });
    expect(res.status).toBe(400);
    // Named as the caller sent it: a field of the body, not of the typed API's vendor_options.
    expect(((await res.json()) as any).error.message).toMatch(/^speed: /);
  });
});

describe("the request id the Anthropic SDK reads (request-id)", () => {
  it("is the gateway's, on answers, streams and errors", async () => {
    const { data, response, request_id } = await sdk.messages.create({ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(request_id).toBe(response.headers.get("x-request-id"));
    expect((data as { _request_id?: string | null })._request_id).toBe(request_id);
    expect(request_id).toMatch(/.+/);

    const stream = sdk.messages.stream({ model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    await stream.finalMessage();
    expect(stream.request_id).toMatch(/.+/);

    const err = await sdk.messages.create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.requestID).toBe(err.headers.get("x-request-id"));
    expect(err.requestID).toMatch(/.+/);
  });
});

describe("a path no route matches", () => {
  it("is refused in Anthropic's shape under /v1/messages (messages.batches)", async () => {
    const err = await sdk.messages.batches.create({ requests: [] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "not_found_error", reason: "endpoint_not_found" } });
    expect(err.requestID).toMatch(/.+/);
  });

  it("is refused in Anthropic's shape for a caller that sends anthropic-version, and in OpenAI's otherwise", async () => {
    const refused = (headers: Record<string, string>) => fetch(`${world.gw.url}/v1/nowhere`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, ...headers }, body: "{}" });
    const anthropic = await refused({ "anthropic-version": "2023-06-01" });
    expect(anthropic.status).toBe(404);
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    const openai = await refused({});
    expect(openai.status).toBe(404);
    expect(await openai.json()).toMatchObject({ error: { type: "invalid_request_error", code: "endpoint_not_found" } });
    expect(openai.headers.get("request-id")).toBeNull();
  });
});

describe("count_tokens with a gateway key", () => {
  let scoped: Anthropic;
  beforeAll(async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    // Three a minute: the refusal for its scope takes one too (every call does: api/envelope/key-gate.ts).
    const { secret } = await admin.createKey({ keyId: "qwen-counter", key: { displayName: "qwen only", allowedModels: ["qwen-*"], requestsPerMinute: 3 } });
    scoped = new Anthropic({ baseURL: world.gw.url, apiKey: secret, maxRetries: 0 });
  });
  const count = (client: Anthropic, model: string) => client.messages.countTokens({ model, messages: [{ role: "user", content: "how many tokens?" }] });

  it("is held to the key's scope and requests per minute, as /v1/messages is, and asks no vendor", async () => {
    const before = world.requests("dashscope").length + world.requests("anthropic").length;
    const outside = await count(scoped, "claude-sonnet-4-5").catch((e) => e);
    expect(outside).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(outside.error).toMatchObject({ type: "error", error: { type: "permission_error", reason: "model_not_allowed" } });

    expect((await count(scoped, "qwen-plus")).input_tokens).toBeGreaterThan(0);
    expect((await count(scoped, "qwen-plus")).input_tokens).toBeGreaterThan(0);
    const over = await count(scoped, "qwen-plus").catch((e) => e);
    expect(over).toBeInstanceOf(Anthropic.RateLimitError);
    expect(over.error).toMatchObject({ type: "error", error: { type: "rate_limit_error", reason: "rate_limited" } });
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(world.requests("dashscope").length + world.requests("anthropic").length).toBe(before);
  });

  it("refuses a model no route serves, as /v1/messages does", async () => {
    const err = await count(sdk, "totally-unknown").catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });
});
