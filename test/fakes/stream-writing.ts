import type { ServerResponse } from "node:http";

/** One Chat Completions stream event (OpenAI dialect) carrying `content`, as a vendor writes it on the wire. */
export function openAIChunkEvent(content: string, model = "m"): string {
  const chunk = { id: "c1", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content }, finish_reason: null }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Resolves once `res` takes writes again, or has closed: a fake vendor that writes only as fast as the gateway reads. */
export function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const go = (): void => {
      res.off("drain", go);
      res.off("close", go);
      resolve();
    };
    res.on("drain", go);
    res.on("close", go);
  });
}

/**
 * Drops the connection once what `res` wrote has left it: a vendor's
 * connection lost (closed mid-body, the chunked encoding never ended), its
 * stream's end marker never sent.
 */
export async function droppedConnection(res: ServerResponse): Promise<void> {
  // A comment line and a blank one, which no reader makes an event of: its callback is called once all before it is written.
  await new Promise<void>((resolve) => res.write(":\n\n", () => resolve()));
  res.socket?.destroy();
}
