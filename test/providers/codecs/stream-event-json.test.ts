// The stream writers' JSON text for the events almost every stream is made of
// (a delta of text alone), written from parts made once per stream rather
// than by stringifying each event whole: held to the very text JSON.stringify
// writes for the same event, whatever the text and the answer's identity.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatDeltaSchema, ChatSummarySchema, type ChatDelta } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, LogprobsSchema, ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { OpenAIChunkWriter } from "../../../src/providers/openai/chat-chunks.js";
import { responseEventJson, ResponseEventWriter } from "../../../src/providers/openai-responses/response-events.js";

/** Texts that JSON escapes in every way it can: quotes, backslashes, controls, a lone surrogate, and characters beyond the BMP. */
const TEXTS = ["Hello", " world", 'a "quoted" \\ path', "line\nbreak\ttab\u0001\u001f", "\ud800 lone", "é 漢字 🙂", "</script>", "\u2028\u2029", "0"];

/** What a stream's first delta may say of its answer. */
type Identity = Pick<Partial<ChatDelta>, "id" | "vendorModel" | "systemFingerprint" | "serviceTier">;

/** A stream's deltas: the first with the vendor's identity, then text alone, with a few of every other kind among them. */
function deltas(identity: Identity): ChatDelta[] {
  const first = create(ChatDeltaSchema, { content: "Hi", ...identity });
  const text = TEXTS.map((content) => create(ChatDeltaSchema, { content }));
  return [
    first,
    ...text,
    create(ChatDeltaSchema, { reasoningContent: "thinking" }),
    create(ChatDeltaSchema, { content: "with reasoning", reasoningContent: "also" }),
    create(ChatDeltaSchema, { content: "tokens", logprobs: create(LogprobsSchema, {}) }),
    create(ChatDeltaSchema, { toolCalls: [create(ToolCallDeltaSchema, { index: 0, id: "call_1", name: "f", argumentsFragment: "{" })] }),
    create(ChatDeltaSchema, { content: "signed", reasoning: [create(ReasoningBlockSchema, { text: "r", signature: "s" })] }),
    ...text,
    create(ChatDeltaSchema, { refusal: "no" }),
    ...text,
  ];
}

const IDENTITIES: Identity[] = [{}, { id: "chatcmpl-9\"x", vendorModel: "gpt-4o-2024-08-06", systemFingerprint: "fp_1", serviceTier: "default" }];

describe("the Chat Completions chunk of a delta (OpenAIChunkWriter.deltaJson)", () => {
  for (const identity of IDENTITIES) {
    it(`is JSON.stringify of delta()'s chunk, event by event (${Object.keys(identity).length > 0 ? "the vendor's identity" : "the gateway's"})`, () => {
      const fallback = () => ({ id: "chatcmpl-gateway", model: "gpt-4o\u2028" });
      const fast = new OpenAIChunkWriter(1694268190, fallback);
      const whole = new OpenAIChunkWriter(1694268190, fallback);
      for (const delta of deltas(identity)) expect(fast.deltaJson(delta)).toBe(JSON.stringify(whole.delta(delta)));
      // The writers stay alike for what follows: the finishing chunk (a refusal was said).
      const summary = create(ChatSummarySchema, { finishReason: FinishReason.STOP });
      expect(fast.finish(summary)).toEqual(whole.finish(summary));
    });
  }
});

describe("the Responses API's events as JSON (responseEventJson)", () => {
  it("is JSON.stringify of each event's data, for every event of a stream", () => {
    const writer = new ResponseEventWriter({ id: "resp_1", createdAt: 1741570283, model: "gpt-4o", echo: {} });
    const events = [...writer.start()];
    for (const delta of deltas({})) events.push(...writer.delta(delta));
    events.push(...writer.finish(create(ChatSummarySchema, { finishReason: FinishReason.STOP })).events);
    const textDeltas = events.filter((event) => event.event === "response.output_text.delta");
    expect(textDeltas.length).toBeGreaterThan(TEXTS.length * 3);
    for (const event of events) expect(responseEventJson(event)).toBe(JSON.stringify(event.data));
  });
});
