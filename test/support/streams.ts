import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { expect } from "vitest";
import type { AIService, ChatRequest, ChatRequestSchema, ChatStreamResponse, ChatSummary } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { FakeServer, RecordedRequest } from "../fakes/fake-server.js";

/** A chat request as the tests write it: plain fields, which Chat and ChatStream both take. */
export type PlainChatRequest = Exclude<MessageInitShape<typeof ChatRequestSchema>, ChatRequest>;

/** Drains a stream: its text, its tool-call fragments, and every summary. */
export async function drain(stream: AsyncIterable<ChatStreamResponse>): Promise<{ text: string; fragments: number; summaries: ChatSummary[] }> {
  let text = "";
  let fragments = 0;
  const summaries: ChatSummary[] = [];
  for await (const event of stream) {
    if (event.event.case === "delta") {
      text += event.event.value.content;
      fragments += event.event.value.toolCalls.length;
    }
    if (event.event.case === "summary") summaries.push(event.event.value);
  }
  return { text, fragments, summaries };
}

/** Reads a stream until its `delta`th delta, then cancels the call with `controller`; settles as the stream ends. */
export async function cancelAtDelta(stream: AsyncIterable<ChatStreamResponse>, controller: AbortController, delta = 1): Promise<void> {
  let deltas = 0;
  for await (const event of stream) if (event.event.case === "delta" && ++deltas === delta) controller.abort();
}

/**
 * Calls `request` unary, then streamed: the stream must carry the same text,
 * then one summary that finishes with STOP and carries the vendor's own usage,
 * the unary answer's. That summary, for what a test checks besides.
 */
export async function streamedLikeUnary(client: Client<typeof AIService>, request: PlainChatRequest): Promise<ChatSummary> {
  const unary = await client.chat(request);
  const { text, summaries } = await drain(client.chatStream(request));
  expect(text).toBe(unary.message?.content);
  expect(summaries).toHaveLength(1);
  expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
  expect(summaries[0]!.usageEstimated).toBe(false);
  expect(summaries[0]!.usage).toEqual(unary.usage);
  return summaries[0]!;
}

/** Calls `request`, which its maxTokens cuts short, unary and streamed: each must finish with LENGTH. The unary answer's text. */
export async function cutShort(client: Client<typeof AIService>, request: PlainChatRequest): Promise<string | undefined> {
  const res = await client.chat(request);
  expect(res.finishReason).toBe(FinishReason.LENGTH);
  const { summaries } = await drain(client.chatStream(request));
  expect(summaries[0]!.finishReason).toBe(FinishReason.LENGTH);
  return res.message?.content;
}

/** A fake vendor whose answers a test can make slow and long. */
interface PacedFake extends Pick<FakeServer, "abandoned"> {
  readonly options: { chunkDelayMs?: number; extraWords?: number };
}

/**
 * Has `fake` stream its answers slowly and at length (`pace`), cancels the
 * stream `open` starts at its `delta`th delta, and waits until the fake sees
 * its request abandoned: the request the caller's cancellation reached. The
 * fake's pace is put back after.
 */
export async function abandonedByCancel(
  fake: PacedFake,
  pace: { chunkDelayMs: number; extraWords: number },
  open: (signal: AbortSignal) => AsyncIterable<ChatStreamResponse>,
  delta = 1,
): Promise<RecordedRequest> {
  const before = { chunkDelayMs: fake.options.chunkDelayMs, extraWords: fake.options.extraWords };
  Object.assign(fake.options, pace);
  try {
    const controller = new AbortController();
    const abandoned = fake.abandoned.length;
    await expect(cancelAtDelta(open(controller.signal), controller, delta)).rejects.toThrow();
    await expect.poll(() => fake.abandoned.length, { timeout: 5_000 }).toBe(abandoned + 1);
    return fake.abandoned.at(-1)!;
  } finally {
    Object.assign(fake.options, before);
  }
}
