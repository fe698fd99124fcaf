import type { StreamEvent, StreamFraming } from "../codec.js";
import { parseJsonLines } from "./json-lines.js";
import { parseSse } from "./sse.js";

/** The events of a streamed answer body, in the framing the request asked for. */
export function frames(body: AsyncIterable<Uint8Array>, framing: StreamFraming): AsyncGenerator<StreamEvent> {
  return framing === "json-lines" ? parseJsonLines(body) : parseSse(body);
}
