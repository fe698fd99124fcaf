// The official Anthropic TypeScript SDK, with its default options, against the
// gateway's Messages surface (`/v1/messages`), for a model served by each of
// three vendors: Anthropic itself, OpenAI, and Qwen on DashScope's native API.
// What the SDK's helpers yield is compared with what the fake vendor said.
import Anthropic from "@anthropic-ai/sdk";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { OVERLOADED, PNG, RATE_LIMITED, SERVED, startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const LOOKUP: Anthropic.Tool = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } };

let world: ThreeVendors;
let sdk: Anthropic;

beforeAll(async () => {
  // One attempt per call: a scripted vendor failure is the caller's failure, and the SDK's own retry is what follows.
  world = await startThreeVendors({ file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await world?.stop();
});

describe.each(SERVED)("the Anthropic TypeScript SDK with a model served by $vendor", ({ vendor, model }) => {
  it("gets the vendor's answer, unary and through messages.stream()", async () => {
    const answer = await sdk.messages.create({ model, max_tokens: 256, messages: [{ role: "user", content: "hello there" }] });
    expect(answer).toMatchObject({ type: "message", role: "assistant", content: [{ type: "text", text: "Echo: hello there" }], stop_reason: "end_turn" });
    expect(answer.id).toMatch(/^msg_/);
    expect(answer.usage.output_tokens).toBeGreaterThan(0);

    const stream = sdk.messages.stream({ model, max_tokens: 256, messages: [{ role: "user", content: "hello stream" }] });
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const final = await stream.finalMessage();
    expect(texts.join("")).toBe("Echo: hello stream");
    expect(texts.length).toBeGreaterThan(1);
    expect(final.content).toEqual([{ type: "text", text: "Echo: hello stream" }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it("runs a tool loop: the vendor's tool call exactly, streamed, then its answer to the result", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "weather in Paris" }];
    const stream = sdk.messages.stream({ model, max_tokens: 256, tools: [LOOKUP], messages });
    const inputs: string[] = [];
    stream.on("inputJson", (partial) => inputs.push(partial));
    const final = await stream.finalMessage();
    const call = final.content.find((block) => block.type === "tool_use")!;
    expect(call).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "weather in Paris" } });
    expect(inputs.join("")).toBe(JSON.stringify({ query: "weather in Paris" }));
    expect(final.stop_reason).toBe("tool_use");
    // The call exactly as the vendor made it, its id included (which the vendor checks when the result comes back).
    const made = world[vendor].toolCallsMade.at(-1)!;
    expect({ id: call.id, name: call.name, arguments: JSON.stringify(call.input) }).toEqual(made);

    messages.push({ role: "assistant", content: final.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny, 21 °C" }] });
    const answer = await sdk.messages.create({ model, max_tokens: 256, tools: [LOOKUP], messages });
    expect(answer.content).toEqual([{ type: "text", text: "Tool result: sunny, 21 °C" }]);
    expect(answer.stop_reason).toBe("end_turn");
  });

  it(vendor === "dashscope" ? "refuses an image DashScope's text API cannot see, in Anthropic's error shape" : "sends an image to the vendor", async () => {
    const request = {
      model,
      max_tokens: 256,
      messages: [{ role: "user" as const, content: [{ type: "image" as const, source: { type: "base64" as const, media_type: "image/png" as const, data: PNG } }, { type: "text" as const, text: "what is this" }] }],
    };
    if (vendor === "dashscope") {
      const refused = await sdk.messages.create(request).catch((e) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect(refused.error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("image") } });
      return;
    }
    const answer = await sdk.messages.create(request);
    expect(answer.content).toEqual([{ type: "text", text: "Echo: what is this" }]);
    const sent = JSON.stringify(world.chatRequests(vendor).at(-1)!.messages);
    expect(sent).toContain(PNG);
  });

  it("reads errors the way the SDK does: type, status, retry headers, and retries what it retries", async () => {
    const stranger = new Anthropic({ baseURL: world.gw.url, apiKey: "sk-not-a-gateway-key" });
    const unauthenticated = await stranger.messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(unauthenticated).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(unauthenticated.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(unauthenticated.requestID ?? unauthenticated.headers.get("x-request-id")).toBeTruthy();

    const invalid = await sdk.messages.create({ model, max_tokens: 0, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
    expect(invalid.error.error).toMatchObject({ type: "invalid_request_error", message: expect.stringContaining("max_tokens") });

    world[vendor].enqueue(RATE_LIMITED[vendor]);
    const limited = await sdk.messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "x" }] }, { maxRetries: 0 }).catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.error.error.type).toBe("rate_limit_error");
    expect(limited.headers.get("retry-after")).toBe("3");

    world[vendor].enqueue(OVERLOADED[vendor]);
    const overloaded = await sdk.messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "x" }] }, { maxRetries: 0 }).catch((e) => e);
    expect(overloaded.status).toBe(529);
    expect(overloaded.error.error.type).toBe("overloaded_error");

    // With its default options the SDK retries a 529 by itself, and the retry is served.
    const before = world.requests(vendor).length;
    world[vendor].enqueue(OVERLOADED[vendor]);
    const retried = await sdk.messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "again" }] });
    expect(retried.content).toEqual([{ type: "text", text: "Echo: again" }]);
    expect(world.requests(vendor).length - before).toBe(2);
  });
});

describe("the Anthropic SDK with no such model", () => {
  it("says not_found_error, 404", async () => {
    const missing = await sdk.messages.create({ model: "no-such-model", max_tokens: 16, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing.error.error).toMatchObject({ type: "not_found_error", reason: "model_not_found" });
  });
});

describe("what the unified request cannot carry", () => {
  const request = {
    max_tokens: 256,
    system: [{ type: "text" as const, text: "You are terse.", cache_control: { type: "ephemeral" as const } }],
    tools: [{ ...LOOKUP, cache_control: { type: "ephemeral" as const } }],
    tool_choice: { type: "none" as const },
    top_k: 5,
    cache_control: { type: "ephemeral" as const },
    messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hello cache", cache_control: { type: "ephemeral" as const } }] }],
    context_management: { edits: [{ type: "clear_tool_uses_20250919" }] },
  };
  const betas = "context-management-2025-06-27,interleaved-thinking-2025-05-14";

  it("reaches Anthropic's own models as the caller wrote it: cache_control, top_k, beta fields and the anthropic-beta header", async () => {
    const answer = await sdk.messages.create({ model: "claude-sonnet-4-5", ...request } as Anthropic.MessageCreateParamsNonStreaming, { headers: { "anthropic-beta": betas } });
    expect(answer.content).toEqual([{ type: "text", text: "Echo: hello cache" }]);
    const sent = world.requests("anthropic").at(-1)!;
    expect(sent.headers["anthropic-beta"]).toBe(betas);
    expect(sent.body).toMatchObject({
      model: "claude-sonnet-4-5",
      system: request.system,
      tools: request.tools,
      top_k: 5,
      cache_control: { type: "ephemeral" },
      context_management: request.context_management,
      messages: request.messages,
      tool_choice: { type: "none" },
    });
  });

  it("is left out for other vendors, which would refuse it", async () => {
    const answer = await sdk.messages.create({ model: "gpt-4o-mini", ...request } as Anthropic.MessageCreateParamsNonStreaming, { headers: { "anthropic-beta": betas } });
    expect(answer.content).toEqual([{ type: "text", text: "Echo: hello cache" }]);
    const sent = world.requests("openai").at(-1)!;
    expect(sent.headers["anthropic-beta"]).toBeUndefined();
    expect(JSON.stringify(sent.body)).not.toMatch(/cache_control|top_k|context_management/);
    expect(sent.body).toMatchObject({ messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "hello cache" }], tool_choice: "none" });
  });
});

describe("thinking through /v1/messages with Claude behind the gateway", () => {
  it("streams each signed thinking block before the text it led to, and takes it back unchanged in a tool loop", async () => {
    const thinking = { type: "enabled" as const, budget_tokens: 2048 };
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "weather in Oslo" }];
    const stream = sdk.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 4096, thinking, tools: [LOOKUP], messages });
    const sequence: string[] = [];
    stream.on("streamEvent", (event) => sequence.push(event.type === "content_block_delta" ? event.delta.type : event.type === "content_block_start" ? `start:${event.content_block.type}` : event.type));
    const final = await stream.finalMessage();
    const [thought, text, call] = final.content;
    expect(thought).toMatchObject({ type: "thinking", thinking: expect.stringContaining("weather in Oslo"), signature: expect.stringMatching(/.+/) });
    expect(text).toEqual({ type: "text", text: "Let me check." });
    expect(call).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "weather in Oslo" } });
    // The exact order Anthropic streams: the signature closes the thinking block before the text block starts.
    const squeezed = sequence.filter((type, i) => type !== sequence[i - 1]);
    expect(squeezed).toEqual([
      "message_start",
      "start:thinking",
      "thinking_delta",
      "signature_delta",
      "content_block_stop",
      "start:text",
      "text_delta",
      "content_block_stop",
      "start:tool_use",
      "input_json_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);

    // Anthropic checks the signature, and that the turn starts with its thinking, when the tool result comes back.
    messages.push({ role: "assistant", content: final.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: (call as Anthropic.ToolUseBlock).id, content: "snow" }] });
    const answer = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 4096, thinking, tools: [LOOKUP], messages });
    expect(answer.content.at(-1)).toEqual({ type: "text", text: "Tool result: snow" });
    expect(answer.content[0]).toMatchObject({ type: "thinking" });
  });
});

describe("the rest of the Messages API", () => {
  it("counts tokens without calling a vendor", async () => {
    const before = world.requests("anthropic").length;
    const counted = await sdk.messages.countTokens({ model: "claude-sonnet-4-5", system: "Be brief.", messages: [{ role: "user", content: "how many tokens is this sentence?" }] });
    expect(counted.input_tokens).toBeGreaterThan(5);
    expect(world.requests("anthropic").length).toBe(before);
  });

  it("ends a stream the vendor broke off with Anthropic's error event", async () => {
    world.anthropic.failNextStream("overloaded_error", "Overloaded");
    const stream = sdk.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 256, messages: [{ role: "user", content: "a long story please" }] }, { maxRetries: 0 });
    const failed = await stream.finalMessage().catch((e) => e);
    expect(failed).toBeInstanceOf(Anthropic.APIError);
    expect(failed.error).toMatchObject({ type: "error", error: { type: "overloaded_error", reason: "stream_interrupted" } });
  });

  it("records every call in the ledger under the surface anthropic_messages", async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const report = await admin.getUsageReport({ groupBy: [UsageDimension.SURFACE, UsageDimension.PROVIDER] });
    const rows = report.rows.filter((row) => row.surface === "anthropic_messages");
    expect(rows.map((row) => row.provider).sort()).toEqual(expect.arrayContaining(["anthropic", "dashscope", "openai"]));
    expect(rows.reduce((sum, row) => sum + Number(row.requests), 0)).toBeGreaterThanOrEqual(20);
    const only = await admin.getUsageReport({ surface: "anthropic_messages" });
    expect(Number(only.total!.requests)).toBe(rows.reduce((sum, row) => sum + Number(row.requests), 0));
  });
});
