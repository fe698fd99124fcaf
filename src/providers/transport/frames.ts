import type { StreamEvent, StreamFraming } from "../codec.js";
import { parseJsonLinesBatches } from "./json-lines.js";
import { parseSseBatches } from "./sse.js";

/** The events of a streamed answer body, in the framing the request asked for, as the events each piece of the body completes. */
export function frames(body: AsyncIterable<Uint8Array>, framing: StreamFraming): AsyncGenerator<StreamEvent[]> {
  return framing === "json-lines" ? parseJsonLinesBatches(body) : parseSseBatches(body);
}
