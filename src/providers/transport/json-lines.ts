import type { StreamEvent } from "../codec.js";

/** Reads a stream of newline-delimited JSON values (NDJSON), one event per non-empty line. */
export async function* parseJsonLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") yield { event: undefined, data: line };
    }
  }
  const last = (buffer + decoder.decode()).trim();
  if (last !== "") yield { event: undefined, data: last };
}
