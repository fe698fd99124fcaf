// The OpenAI dialect's Responses API side (ModelTraits.endpoint), read from
// payloads in the shapes of OpenAI's API reference
// (https://platform.openai.com/docs/api-reference/responses/object and
// /responses-streaming): how a Response ended, its usage, the encrypted
// reasoning carried to the next turn and only to OpenAI, and failures after the 200.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, ReasoningConfigSchema, ReasoningEffort } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createOpenAICodec } from "../../../src/providers/openai/codec.js";
import { replayableTurn } from "../../../src/providers/anthropic/replayable-thinking.js";
import { thinkingBlock } from "../../../src/providers/anthropic/wire.js";
import type { ChatParams } from "../../../src/providers/provider.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { assembled, decode, streamFailure, textOf, type RecordedEvent } from "../../support/codec-fixtures.js";

const ctx: ErrorContext = { provider: "openai", credential: createCredential("openai/test", "sk-test-0123456789") };
const codec = createOpenAICodec({});
const traits = { endpoint: "responses" as const };
const params: ChatParams = create(ChatRequestSchema, { model: "gpt-5-codex", messages: [{ role: Role.USER, content: "hi" }] });

function response(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id: "resp_1",
    object: "response",
    status: "completed",
    model: "gpt-5-codex",
    output: [
      { id: "rs_1", type: "reasoning", summary: [{ type: "summary_text", text: "Thinking." }], encrypted_content: "gAAAA-secret" },
      { id: "msg_1", type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello", annotations: [] }] },
    ],
    usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 4 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 25 }, total_tokens: 50 },
    ...fields,
  };
}

function events(...list: [string, Record<string, unknown>][]): RecordedEvent[] {
  return list.map(([type, fields], i) => ({ event: type, data: { type, ...fields, sequence_number: i } }));
}

describe("the request", () => {
  it("goes to /responses for a model served there only, and to /chat/completions otherwise", () => {
    expect(codec.chatRequest(params, "gpt-5-codex", false, traits)).toMatchObject({ path: "/responses", body: { model: "gpt-5-codex", store: false, input: [{ type: "message", role: "user", content: "hi" }] } });
    expect(codec.chatRequest(params, "gpt-4o", true, {}).path).toBe("/chat/completions");
  });

  it("carries back OpenAI's encrypted reasoning only, not another vendor's signed thinking", () => {
    const answer = codec.chatResponse(response({}), params, ctx, traits);
    const anthropicBlock = create(ReasoningBlockSchema, { text: "claude thought", signature: "sig" });
    const turn = { ...answer.message, reasoning: [anthropicBlock, ...answer.message.reasoning] };
    const body = codec.chatRequest({ ...params, messages: [...params.messages, turn, { ...params.messages[0]!, content: "again" }] }, "gpt-5-codex", false, traits).body!;
    expect(body.input).toEqual([
      { type: "message", role: "user", content: "hi" },
      { type: "reasoning", summary: [], encrypted_content: "gAAAA-secret" },
      { type: "message", role: "assistant", content: "Hello" },
      { type: "message", role: "user", content: "again" },
    ]);
    // Anthropic would refuse OpenAI's reasoning as a redacted_thinking block it did not write: it is left out there.
    expect(replayableTurn([...answer.message.reasoning.map(thinkingBlock), { type: "text", text: "Hello" }])).toEqual([{ type: "text", text: "Hello" }]);
  });

  it("asks for the summary and truncation a /v1/responses caller set, beside the fitted effort and the typed caller's own reasoning fields", () => {
    const asked: ChatParams = { ...params, reasoning: create(ReasoningConfigSchema, { effort: ReasoningEffort.MEDIUM }), responsesSettings: { reasoningSummary: "auto", truncation: "auto" } };
    expect(codec.chatRequest(asked, "gpt-5-codex", false, traits).body).toMatchObject({ reasoning: { effort: "medium", summary: "auto" }, truncation: "auto" });
    // A summary alone: the model reasons at its default effort.
    const summaryAlone = codec.chatRequest({ ...params, responsesSettings: { reasoningSummary: "detailed" } }, "gpt-5-codex", false, traits).body!;
    expect(summaryAlone.reasoning).toEqual({ summary: "detailed" });
    expect(summaryAlone).not.toHaveProperty("truncation");
    // vendor_options' reasoning is kept, not overwritten by the effort.
    const typed = codec.chatRequest({ ...asked, responsesSettings: undefined, vendorOptions: { reasoning: { summary: "concise" } } }, "gpt-5-codex", false, traits).body!;
    expect(typed.reasoning).toEqual({ summary: "concise", effort: "medium" });
  });
});

describe("a whole Response", () => {
  it("reads the text, the summary as reasoning text, the encrypted reasoning and the usage", () => {
    const answer = codec.chatResponse(response({}), params, ctx, traits);
    expect(answer.message.content).toBe("Hello");
    expect(answer.message.reasoningContent).toBe("Thinking.");
    expect(answer.message.reasoningSummarized).toBe(true);
    expect(answer.message.reasoning).toHaveLength(1);
    expect(answer.finishReason).toBe(FinishReason.STOP);
    expect(answer.usage).toMatchObject({ promptTokens: 20, cachedTokens: 4, completionTokens: 30, reasoningTokens: 25, totalTokens: 50 });
    expect(answer).toMatchObject({ id: "resp_1", vendorModel: "gpt-5-codex" });
  });

  it("says how an incomplete one was cut: max_output_tokens is LENGTH, content_filter CONTENT_FILTER", () => {
    expect(codec.chatResponse(response({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }), params, ctx, traits).finishReason).toBe(FinishReason.LENGTH);
    expect(codec.chatResponse(response({ status: "incomplete", incomplete_details: { reason: "content_filter" } }), params, ctx, traits).finishReason).toBe(FinishReason.CONTENT_FILTER);
  });

  it("ends with TOOL_CALLS when it calls a function, and REFUSAL when it refuses", () => {
    const called = response({ output: [{ type: "function_call", call_id: "call_1", name: "f", arguments: '{"a":1}' }] });
    const answer = codec.chatResponse(called, params, ctx, traits);
    expect(answer.message.toolCalls).toEqual([expect.objectContaining({ id: "call_1", name: "f", arguments: '{"a":1}' })]);
    expect(answer.finishReason).toBe(FinishReason.TOOL_CALLS);
    const refused = response({ output: [{ type: "message", content: [{ type: "refusal", refusal: "No." }] }] });
    expect(codec.chatResponse(refused, params, ctx, traits).finishReason).toBe(FinishReason.REFUSAL);
  });

  it.each(["cancelled", "queued", "in_progress", "a status added later", undefined])("never reads a Response whose status is %s as finished", (status) => {
    const called = response({ status, output: [{ type: "function_call", call_id: "call_1", name: "f", arguments: "{}" }] });
    expect(codec.chatResponse(response({ status }), params, ctx, traits).finishReason).toBe(FinishReason.UNSPECIFIED);
    expect(codec.chatResponse(called, params, ctx, traits).finishReason).toBe(FinishReason.UNSPECIFIED);
  });

  it("is the vendor's error when it failed", () => {
    expect(() => codec.chatResponse(response({ status: "failed", error: { code: "server_error", message: "The model failed." } }), params, ctx, traits)).toThrow(/The model failed/);
  });
});

describe("a streamed Response", () => {
  const created = { response: { id: "resp_2", model: "gpt-5-codex-2025", status: "in_progress", output: [] } };

  it("streams text, function call arguments and the encrypted reasoning, and ends with the usage", () => {
    const { deltas, end } = decode(
      codec.chatStream(params, ctx, traits),
      events(
        ["response.created", created],
        ["response.output_item.added", { output_index: 0, item: { type: "reasoning", summary: [] } }],
        ["response.reasoning_summary_text.delta", { output_index: 0, delta: "Hmm." }],
        ["response.output_item.done", { output_index: 0, item: { type: "reasoning", encrypted_content: "gAAAA-x" } }],
        ["response.output_item.added", { output_index: 1, item: { type: "message", content: [] } }],
        ["response.output_text.delta", { output_index: 1, delta: "Hel" }],
        ["response.output_text.delta", { output_index: 1, delta: "lo" }],
        ["response.output_item.added", { output_index: 2, item: { type: "function_call", call_id: "call_9", name: "f", arguments: "" } }],
        ["response.function_call_arguments.delta", { output_index: 2, delta: '{"a"' }],
        ["response.function_call_arguments.delta", { output_index: 2, delta: ":1}" }],
        ["response.output_item.done", { output_index: 2, item: { type: "function_call", call_id: "call_9", name: "f", arguments: '{"a":1}' } }],
        ["response.completed", { response: response({ id: "resp_2" }) }],
      ),
    );
    expect(textOf(deltas)).toBe("Hello");
    expect(deltas.map((delta) => delta.reasoning ?? "").join("")).toBe("Hmm.");
    expect(assembled(deltas)).toEqual([{ id: "call_9", name: "f", arguments: '{"a":1}' }]);
    expect(deltas[0]).toMatchObject({ id: "resp_2", vendorModel: "gpt-5-codex-2025" });
    expect(end).toMatchObject({ finishReason: FinishReason.TOOL_CALLS, usage: { promptTokens: 20, cachedTokens: 4, reasoningTokens: 25 } });
    expect(end.reasoning).toHaveLength(1);
  });

  it("marks summary pieces as a summary, each new part or item set apart as a whole Response's are", () => {
    const { deltas } = decode(
      codec.chatStream(params, ctx, traits),
      events(
        ["response.created", created],
        ["response.output_item.added", { output_index: 0, item: { type: "reasoning", summary: [] } }],
        ["response.reasoning_summary_part.added", { item_id: "rs_1", output_index: 0, summary_index: 0, part: { type: "summary_text", text: "" } }],
        ["response.reasoning_summary_text.delta", { item_id: "rs_1", output_index: 0, summary_index: 0, delta: "One" }],
        ["response.reasoning_summary_text.delta", { item_id: "rs_1", output_index: 0, summary_index: 0, delta: "." }],
        ["response.reasoning_summary_text.delta", { item_id: "rs_1", output_index: 0, summary_index: 1, delta: "Two." }],
        ["response.output_item.done", { output_index: 0, item: { type: "reasoning", encrypted_content: "gAAAA-1" } }],
        ["response.output_item.added", { output_index: 1, item: { type: "reasoning", summary: [] } }],
        ["response.reasoning_summary_text.delta", { item_id: "rs_2", output_index: 1, summary_index: 0, delta: "Three." }],
        ["response.output_item.done", { output_index: 1, item: { type: "reasoning", encrypted_content: "gAAAA-2" } }],
        ["response.completed", { response: response({ id: "resp_2" }) }],
      ),
    );
    const summary = deltas.filter((delta) => delta.reasoning);
    expect(summary.map((delta) => delta.reasoning).join("")).toBe("One.\n\nTwo.\n\nThree.");
    expect(summary.every((delta) => delta.reasoningSummarized === true)).toBe(true);
  });

  it("ends LENGTH on response.incomplete at max_output_tokens", () => {
    const { end } = decode(codec.chatStream(params, ctx, traits), events(["response.created", created], ["response.incomplete", { response: response({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }) }]));
    expect(end.finishReason).toBe(FinishReason.LENGTH);
  });

  it("never ends finished on a Response that did not complete, whichever event carried it", () => {
    for (const status of ["cancelled", "in_progress", "queued"]) {
      const { end } = decode(codec.chatStream(params, ctx, traits), events(["response.created", created], ["response.completed", { response: response({ status }) }]));
      expect(end.finishReason).toBe(FinishReason.UNSPECIFIED);
    }
    const failed = streamFailure(codec.chatStream(params, ctx, traits), events(["response.completed", { response: response({ status: "failed", error: { code: "server_error", message: "It broke late." } }) }])).error;
    expect(failed.message).toContain("It broke late.");
  });

  it("fails on an error event, on response.failed, and when cut before its end", () => {
    const error = streamFailure(codec.chatStream(params, ctx, traits), events(["response.created", created], ["error", { code: "rate_limit_exceeded", message: "Slow down.", param: null }])).error;
    expect(error).toMatchObject({ kind: "rate_limited" });
    const failed = streamFailure(codec.chatStream(params, ctx, traits), events(["response.failed", { response: { status: "failed", error: { code: "server_error", message: "It broke." } } }])).error;
    expect(failed.message).toContain("It broke.");
    const cut = streamFailure(codec.chatStream(params, ctx, traits), events(["response.created", created], ["response.output_text.delta", { output_index: 0, delta: "Hi" }]));
    expect(cut).toMatchObject({ text: "Hi", error: { kind: "unreachable" } });
  });
});
