import type { StreamEvent } from "../codec.js";
import { FrameTooLarge, HeldLine, MAX_EVENT_CHARS } from "./frame-limit.js";

/** Reads a stream of newline-delimited JSON values (NDJSON), one event per non-empty line; a line longer than MAX_EVENT_CHARS throws FrameTooLarge. */
export async function* parseJsonLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamEvent> {
  for await (const batch of parseJsonLinesBatches(body)) yield* batch;
}

/** parseJsonLines's events, as the lines each piece of the body completes (see parseSseBatches). */
export async function* parseJsonLinesBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamEvent[]> {
  const decoder = new TextDecoder();
  let buffer = "";
  const held = new HeldLine();
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    if (buffer !== "" && text.indexOf("\n") === -1) {
      held.hold(text, buffer.length);
      continue;
    }
    buffer += held.take() + text;
    const events: StreamEvent[] = [];
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") events.push({ event: undefined, data: line });
    }
    if (events.length > 0) yield events;
    if (buffer.length > MAX_EVENT_CHARS) throw new FrameTooLarge(MAX_EVENT_CHARS);
  }
  const last = (buffer + held.take() + decoder.decode()).trim();
  if (last !== "") yield [{ event: undefined, data: last }];
}
