import type { ChatStreamResponse, ChatSummary } from "../../gen/ts/switchboard/v1/ai_service_pb.js";

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
