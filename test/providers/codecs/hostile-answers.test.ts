// Codecs against a hostile vendor's answers, with no server: what a decoder
// keeps is bounded, every field of the wrong JSON type is the vendor's
// bad_response, and errors inside a successful body are classified.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_CONTENT_BLOCKS, MAX_REASONING_BLOCKS, MAX_STREAMED_ANSWER_CHARS, MAX_TOOL_CALLS } from "../../../src/providers/answer-limits.js";
import { createAnthropicCodec } from "../../../src/providers/anthropic/codec.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { checkedEvents, checkedVectors, guarded } from "../../../src/providers/codec-guard.js";
import { createDashScopeCodec } from "../../../src/providers/dashscope/codec.js";
import { createGeminiCodec } from "../../../src/providers/gemini/codec.js";
import { createOpenAICodec } from "../../../src/providers/openai/codec.js";
import { createQianfanV1Codec } from "../../../src/providers/qianfan-v1/codec.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { feed, thrown, type RecordedEvent } from "../../support/codec-fixtures.js";

const ctx: ErrorContext = { provider: "hostile", credential: createCredential("hostile/test", "sk-hostile-codec-0123456789abcdef") };
const hello = create(ChatRequestSchema, { model: "m", messages: [{ role: Role.USER, content: "hi" }] });
const embedTwo = create(EmbedRequestSchema, { model: "m", inputs: ["a", "b"] });
const MIB = 1024 * 1024;

describe("Anthropic stream decoder: what it keeps is bounded", () => {
  const anthropic = createAnthropicCodec({ provider: "hostile" });
  const start: RecordedEvent = { event: "message_start", data: { type: "message_start", message: { id: "msg_1", usage: { input_tokens: 1 } } } };
  const redacted = (index: number, data: string): RecordedEvent => ({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "redacted_thinking", data } } });
  const blockStart = (index: number, content_block: unknown): RecordedEvent => ({ event: "content_block_start", data: { type: "content_block_start", index, content_block } });
  const blockDelta = (index: number, delta: unknown): RecordedEvent => ({ event: "content_block_delta", data: { type: "content_block_delta", index, delta } });
  const decode = (events: RecordedEvent[]) => feed(anthropic.chatStream(hello, ctx), [start, ...events]);

  it(`redacted_thinking blocks past ${MAX_STREAMED_ANSWER_CHARS} characters in all: bad_response (300 of 1 MB took the gateway to 1.1 GB)`, () => {
    const mebibyte = "r".repeat(MIB);
    const events = Array.from({ length: 9 }, (_, i) => redacted(i, mebibyte));
    const err = thrown(() => decode(events));
    expect(err.kind).toBe("bad_response");
    expect(err.message).toBe(`provider "hostile" streamed thinking longer than ${MAX_STREAMED_ANSWER_CHARS} characters, the most the gateway keeps of one answer`);
    // Up to the limit, it is read.
    expect(decode(events.slice(0, 7))).toHaveLength(7);
  });

  it("a thinking block's signature and text count too", () => {
    const piece = "s".repeat(MIB);
    const signatures = Array.from({ length: 9 }, () => blockDelta(0, { type: "signature_delta", signature: piece }));
    expect(thrown(() => decode([blockStart(0, { type: "thinking", thinking: "" }), ...signatures])).message).toContain("streamed thinking longer than");
    const thoughts = Array.from({ length: 9 }, () => blockDelta(0, { type: "thinking_delta", thinking: piece }));
    expect(thrown(() => decode([blockStart(0, { type: "thinking", thinking: "" }), ...thoughts])).message).toContain("streamed thinking longer than");
  });

  it(`more than ${MAX_REASONING_BLOCKS} thinking blocks: bad_response`, () => {
    const events = Array.from({ length: MAX_REASONING_BLOCKS + 1 }, (_, i) => redacted(i, "x"));
    expect(thrown(() => decode(events)).message).toBe(`provider "hostile" streamed more than ${MAX_REASONING_BLOCKS} thinking blocks`);
    expect(decode(events.slice(0, MAX_REASONING_BLOCKS))).toHaveLength(MAX_REASONING_BLOCKS);
  });

  it(`more than ${MAX_TOOL_CALLS} tool calls, or ${MAX_CONTENT_BLOCKS} blocks: bad_response`, () => {
    const tools = Array.from({ length: MAX_TOOL_CALLS + 1 }, (_, i) => blockStart(i, { type: "tool_use", id: `toolu_${i}`, name: "f", input: {} }));
    expect(thrown(() => decode(tools)).message).toBe(`provider "hostile" streamed more than ${MAX_TOOL_CALLS} tool calls`);
    const texts = Array.from({ length: MAX_CONTENT_BLOCKS + 1 }, (_, i) => blockStart(i, { type: "text", text: "" }));
    expect(thrown(() => decode(texts)).message).toBe(`provider "hostile" streamed more than ${MAX_CONTENT_BLOCKS} content blocks`);
  });

  it.each([
    [blockStart(0, { type: "thinking", thinking: 1 }), "content_block.thinking"],
    [blockStart(0, { type: "redacted_thinking", data: { x: 1 } }), "content_block.data"],
    [blockStart(0, { type: "tool_use", id: "toolu_1", name: ["x"], input: {} }), "content_block.name"],
    [blockStart(0, { type: "text", text: 1 }), "content_block.text"],
  ])("a block field of the wrong type: bad_response naming it", (event, field) => {
    expect(thrown(() => decode([event])).message).toBe(`provider "hostile" sent ${field} that is not a string`);
  });

  it("the whole answer: a text of the wrong type is bad_response, not '5' in the answer", () => {
    const body = { id: "msg_1", content: [{ type: "text", text: 5 }], stop_reason: "end_turn", usage: { input_tokens: 1, output_tokens: 1 } };
    expect(thrown(() => anthropic.chatResponse(body, hello, ctx)).message).toBe('provider "hostile" sent content[0].text that is not a string');
  });

  it("an error body with a 200 status is classified by its type", () => {
    const err = anthropic.bodyError!({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, 200, ctx);
    expect(err?.kind).toBe("overloaded");
    expect(anthropic.bodyError!({ id: "msg_1", content: [] }, 200, ctx)).toBeUndefined();
  });
});

describe("other dialects' stream fields of the wrong type", () => {
  it("DashScope: a tool call id that is a number is bad_response", () => {
    const decoder = createDashScopeCodec({ provider: "hostile" }).chatStream(hello, ctx);
    const chunk = { output: { choices: [{ message: { role: "assistant", content: "", tool_calls: [{ index: 0, id: 5, function: { name: "f", arguments: "" } }] }, finish_reason: "null" }] } };
    expect(thrown(() => feed(decoder, [{ event: "result", data: chunk }])).message).toBe('provider "hostile" sent output.choices[0].message.tool_calls[0].id that is not a string');
  });

  it("ERNIE v1: a result that is a number is bad_response", () => {
    const decoder = createQianfanV1Codec({ provider: "hostile" }).chatStream(hello, ctx);
    expect(thrown(() => feed(decoder, [{ data: { id: "as-1", result: 12345, is_end: false } }])).message).toBe('provider "hostile" sent result that is not a string');
  });

  it("Gemini: more than 128 function calls in one answer is bad_response", () => {
    const parts = Array.from({ length: MAX_TOOL_CALLS + 1 }, () => ({ functionCall: { name: "f", args: {} } }));
    const body = { candidates: [{ content: { parts }, finishReason: "STOP" }] };
    expect(thrown(() => createGeminiCodec({ provider: "hostile" }).chatResponse(body, hello, ctx)).message).toBe('provider "hostile" called more than 128 functions in one answer');
  });

  it("a finish reason named after Object.prototype is no finish reason", () => {
    const body = { candidates: [{ content: { parts: [{ text: "hi" }] }, finishReason: "constructor" }] };
    expect(typeof createGeminiCodec({ provider: "hostile" }).chatResponse(body, hello, ctx).finishReason).toBe("number");
  });
});

describe("the adapter's checks on what a codec returns", () => {
  it("an exception that is not an UpstreamError is bad_response, naming only its class", () => {
    const err = thrown(() =>
      guarded(ctx, () => {
        throw new TypeError("Cannot read properties of undefined (reading 'sk-secret')");
      }),
    );
    expect(err.kind).toBe("bad_response");
    expect(err.message).toBe('provider "hostile" sent an answer the gateway cannot read (TypeError)');
  });

  it("a delta with a field of the wrong type is bad_response, whatever the codec", () => {
    const bad = [{ type: "delta", content: 5, toolCalls: [] }] as never;
    expect(thrown(() => checkedEvents(bad, ctx)).kind).toBe("bad_response");
    const fragment = { index: 1e9, id: "", name: "", argumentsFragment: "" };
    expect(thrown(() => checkedEvents([{ type: "delta", content: "", toolCalls: [fragment as never] }], ctx)).kind).toBe("bad_response");
  });

  it("embeddings: one per input, finite numbers, one length", () => {
    const ok = { vectors: [[0.1, 0.2], [0.3, 0.4]], usage: undefined };
    expect(checkedVectors(ok, embedTwo, ctx)).toBe(ok);
    expect(thrown(() => checkedVectors({ vectors: [[0.1, 0.2]], usage: undefined }, embedTwo, ctx)).message).toContain("wrong number of embeddings");
    // eslint-disable-next-line no-sparse-arrays
    expect(thrown(() => checkedVectors({ vectors: [, [0.1]] as number[][], usage: undefined }, embedTwo, ctx)).message).toContain("no embedding for input 0");
    expect(thrown(() => checkedVectors({ vectors: [[0.1, Infinity], [0.1, 0.2]], usage: undefined }, embedTwo, ctx)).message).toContain("finite numbers");
    expect(thrown(() => checkedVectors({ vectors: [[], []], usage: undefined }, embedTwo, ctx)).message).toContain("empty embedding");
    expect(thrown(() => checkedVectors(ok, { ...embedTwo, dimensions: 3 }, ctx)).message).toContain("not the 3 dimensions asked for");
  });
});

describe("embedding decoders: every input's index exactly once", () => {
  it("DashScope: a repeated text_index is bad_response", () => {
    const body = { output: { embeddings: [{ text_index: 0, embedding: [0.1] }, { text_index: 0, embedding: [0.2] }] }, usage: { total_tokens: 2 } };
    expect(thrown(() => createDashScopeCodec({ provider: "hostile" }).embedResponse!(body, embedTwo, ctx)).message).toBe('provider "hostile" answered with two embeddings for input 0');
  });

  it("ERNIE v1: a missing index is bad_response", () => {
    const body = { data: [{ index: 1, embedding: [0.1] }], usage: { prompt_tokens: 2, total_tokens: 2 } };
    expect(thrown(() => createQianfanV1Codec({ provider: "hostile" }).embedResponse!(body, embedTwo, ctx)).message).toBe('provider "hostile" answered with 1 embeddings for 2 inputs');
  });

  it("Gemini: values that are not a list are bad_response", () => {
    const body = { embeddings: [{ values: [0.1] }, { values: "0.1" }] };
    expect(thrown(() => createGeminiCodec({ provider: "hostile" }).embedResponse!(body, embedTwo, ctx)).message).toBe('provider "hostile" answered with embeddings[1].values that is not a list of numbers');
  });
});

describe("OpenAI: an error inside an HTTP 200", () => {
  const openai = createOpenAICodec({});
  it.each([
    [{ error: { code: "insufficient_quota", message: "You exceeded your current quota" } }, "quota_exhausted"],
    [{ error: { type: "rate_limit_error", message: "slow down" } }, "rate_limited"],
    [{ error: { code: 429, message: "slow down" } }, "rate_limited"],
    [{ error: { type: "invalid_request_error", message: "bad field" } }, "bad_request"],
    [{ error: { message: "something broke" } }, "overloaded"],
    [{ error: "plain words" }, "overloaded"],
  ])("%j is %s, with the vendor's words", (body, kind) => {
    const err = openai.bodyError!(body, 200, ctx);
    expect(err?.kind).toBe(kind);
  });

  it("an answer (choices or data), or an error that is null, is no error", () => {
    expect(openai.bodyError!({ error: null, choices: [{ message: { content: "hi" } }] }, 200, ctx)).toBeUndefined();
    expect(openai.bodyError!({ error: { message: "x" }, choices: [{ message: { content: "hi" } }] }, 200, ctx)).toBeUndefined();
    expect(openai.bodyError!({ object: "list", data: [] }, 200, ctx)).toBeUndefined();
  });
});
