// Which stop sequence ended an answer (issue 14): Anthropic says it
// (`stop_sequence`, with stop_reason "stop_sequence"), the unified answer
// carries it (ChatResponse.stop_sequence, ChatSummary.stop_sequence), the
// response cache keeps it, and `/v1/messages` callers (Claude Code, the
// Anthropic SDKs) read it back as Anthropic would have answered.
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason, MessageSchema, Role, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { decodeAnswer, encodeAnswer } from "../../src/cache/answer-codec.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import type { ChatParams } from "../../src/providers/provider.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

let world: ThreeVendors;
beforeAll(async () => {
  world = await startThreeVendors();
});
afterAll(async () => {
  await world?.stop();
});

/** The Anthropic fake echoes "Echo: <text>" and cuts it at the first stop sequence it finds. */
const STOPPING = { content: "say hi there", stop: ["zzz", "hi"] };

function messages(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${world.gw.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const messagesBody = (model: string, fields: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 100,
  stop_sequences: STOPPING.stop,
  messages: [{ role: "user", content: STOPPING.content }],
  ...fields,
});

/** The data of an SSE body's `message_delta` event. */
function messageDelta(sse: string): any {
  const frame = sse.split("\n\n").find((f) => f.startsWith("event: message_delta"))!;
  return JSON.parse(/^data: (.*)$/m.exec(frame)![1]!);
}

describe("the stop sequence an Anthropic-served answer stopped at", () => {
  it("is in the unified answer and the stream's summary (Connect)", async () => {
    const request = { model: "claude-sonnet-4-5", messages: [{ role: Role.USER, content: STOPPING.content }], stop: STOPPING.stop };
    const answer = await world.gw.client().chat(request);
    expect(answer.message?.content).toBe("Echo: say ");
    expect(answer.finishReason).toBe(FinishReason.STOP);
    expect(answer.stopSequence).toBe("hi");
    let summary;
    for await (const event of world.gw.client().chatStream(request)) if (event.event.case === "summary") summary = event.event.value;
    expect(summary?.finishReason).toBe(FinishReason.STOP);
    expect(summary?.stopSequence).toBe("hi");
  });

  it("is what /v1/messages answers, whole and streamed, and kept by the response cache", async () => {
    const whole = await messages(messagesBody("claude-sonnet-4-5", { temperature: 0 }));
    expect(whole.status).toBe(200);
    expect(whole.headers.get("x-switchboard-cache")).toBe("miss");
    expect(await whole.json()).toMatchObject({ content: [{ type: "text", text: "Echo: say " }], stop_reason: "stop_sequence", stop_sequence: "hi" });
    // The same deterministic call again: the cached answer still says where it stopped.
    const cached = await messages(messagesBody("claude-sonnet-4-5", { temperature: 0 }));
    expect(cached.headers.get("x-switchboard-cache")).toBe("hit");
    expect(await cached.json()).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "hi" });
    const cachedStream = await messages(messagesBody("claude-sonnet-4-5", { temperature: 0, stream: true }));
    expect(cachedStream.headers.get("x-switchboard-cache")).toBe("hit");
    expect(messageDelta(await cachedStream.text()).delta).toEqual({ stop_reason: "stop_sequence", stop_sequence: "hi" });

    const streamed = await messages(messagesBody("claude-sonnet-4-5", { stream: true }));
    expect(messageDelta(await streamed.text()).delta).toEqual({ stop_reason: "stop_sequence", stop_sequence: "hi" });
  });

  it("is null, as before, for a vendor that does not say which (OpenAI) and for an answer that ran to its end", async () => {
    const openai = await (await messages(messagesBody("gpt-4o-mini"))).json();
    expect(openai).toMatchObject({ stop_reason: "end_turn", stop_sequence: null });
    const unstopped = await (await messages(messagesBody("claude-sonnet-4-5", { stop_sequences: ["zzz"] }))).json();
    expect(unstopped).toMatchObject({ stop_reason: "end_turn", stop_sequence: null });
  });
});

describe("the Anthropic codec", () => {
  const codec = createAnthropicCodec({ provider: "anthropic" });
  const ctx = { provider: "anthropic", credential: createCredential("anthropic/a", "sk-ant-unit") };
  const params = { model: "m", messages: [], stop: ["END"], tools: [] } as unknown as ChatParams;
  const answer = (stop_sequence: unknown) => ({ id: "msg_1", content: [{ type: "text", text: "x" }], stop_reason: "stop_sequence", stop_sequence, usage: { input_tokens: 1, output_tokens: 1 } });

  it("keeps only a stop sequence the request sent, of a stop_reason stop_sequence", () => {
    expect(codec.chatResponse(answer("END"), params, ctx).stopSequence).toBe("END");
    // Text the caller never asked to stop at, or no string at all, is left out rather than put in its answer.
    expect(codec.chatResponse(answer("something else"), params, ctx).stopSequence).toBeUndefined();
    expect(codec.chatResponse(answer(42), params, ctx).stopSequence).toBeUndefined();
    expect(codec.chatResponse({ ...answer("END"), stop_reason: "end_turn" }, params, ctx).stopSequence).toBeUndefined();
  });

  it("reads it from a stream's message_delta", () => {
    const decoder = codec.chatStream(params, ctx);
    const send = (type: string, data: object) => decoder.next({ event: type, data: JSON.stringify({ type, ...data }) });
    send("message_start", { message: { id: "msg_1", usage: { input_tokens: 1, output_tokens: 1 } } });
    send("message_delta", { delta: { stop_reason: "stop_sequence", stop_sequence: "END" }, usage: { output_tokens: 2 } });
    send("message_stop", {});
    expect(decoder.finish()).toMatchObject({ finishReason: FinishReason.STOP, stopSequence: "END" });
  });
});

describe("the response cache's answer codec", () => {
  it("keeps the stop sequence, and its absence", () => {
    const base = { id: "a", message: create(MessageSchema, { content: "x" }), finishReason: FinishReason.STOP, usage: create(UsageSchema, {}), served: { provider: "p", upstreamModel: "m" } };
    expect(decodeAnswer(encodeAnswer({ ...base, stopSequence: "END" })).stopSequence).toBe("END");
    expect(decodeAnswer(encodeAnswer(base)).stopSequence).toBeUndefined();
  });
});
