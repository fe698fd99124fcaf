// The OpenAI-compatible REST surface, called as a plain HTTP client would: the
// answer's headers and body, and a stream's chunks as they came.
import { MASTER_KEY, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>;

export async function restChat(gw: TestGateway, body: Json): Promise<{ status: number; headers: Headers; json: Json }> {
  const res = await post(gw, body);
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

/** A streamed answer: its chunks, in order, without the final [DONE]. */
export async function restStream(gw: TestGateway, body: Json): Promise<{ status: number; headers: Headers; chunks: Json[] }> {
  const res = await post(gw, { ...body, stream: true, stream_options: { include_usage: true } });
  const text = await res.text();
  const chunks = text
    .split("\n\n")
    .map((event) => event.replace(/^data: /, "").trim())
    .filter((data) => data !== "" && data !== "[DONE]")
    .map((data) => JSON.parse(data) as Json);
  return { status: res.status, headers: res.headers, chunks };
}

/** A streamed answer put back together as a message, as a client keeps it for the next turn. */
export function assembled(chunks: Json[]): { message: Json; finishReason: string | null; usage: Json | undefined } {
  const message: Json = { role: "assistant", content: "" };
  const calls: Json[] = [];
  let finishReason: string | null = null;
  let usage: Json | undefined;
  for (const chunk of chunks) {
    usage = chunk.usage ?? usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta ?? {};
    if (delta.content) message.content += delta.content;
    if (delta.refusal) message.refusal = (message.refusal ?? "") + delta.refusal;
    if (delta.reasoning_content) message.reasoning_content = (message.reasoning_content ?? "") + delta.reasoning_content;
    if (delta.reasoning_details) message.reasoning_details = delta.reasoning_details;
    for (const fragment of delta.tool_calls ?? []) {
      const call = (calls[fragment.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      call.id ||= fragment.id ?? "";
      call.function.name ||= fragment.function?.name ?? "";
      call.function.arguments += fragment.function?.arguments ?? "";
    }
    finishReason = choice.finish_reason ?? finishReason;
  }
  if (calls.length > 0) message.tool_calls = calls;
  if (message.content === "" && calls.length > 0) message.content = null;
  return { message, finishReason, usage };
}

function post(gw: TestGateway, body: Json): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
}
