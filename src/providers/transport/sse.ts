import { FrameTooLarge, HeldLine, MAX_EVENT_CHARS } from "./frame-limit.js";
import { JoinedPieces } from "./joined-pieces.js";

/** One server-sent event. */
export interface SseEvent {
  /** The `event:` field; undefined for the default "message" type. */
  event: string | undefined;
  /** The `data:` lines joined with "\n". */
  data: string;
  id: string | undefined;
}

/**
 * Parses an SSE byte stream as the WHATWG spec reads it, so every vendor's
 * framing works: LF, CRLF or CR line ends (Gemini uses CRLF), an optional
 * space after the colon (DashScope sends none), comment lines starting with
 * ":" (keep-alives, DashScope's ":HTTP_STATUS/200"), and multi-line data.
 * An event (or an unfinished line) longer than MAX_EVENT_CHARS throws
 * FrameTooLarge as soon as it is seen: nothing more is buffered. Only data
 * lines add up: a comment, `event:`, `id:` or any other field is read and
 * let go (the last `event:` and `id:` kept, one line each).
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  for await (const batch of parseSseBatches(body)) yield* batch;
}

/**
 * parseSse's events, as the events each piece of the body completes: a burst
 * read at once costs the reader one step of an async generator, not one per
 * event. Events completed before an error (FrameTooLarge) are yielded first.
 */
export async function* parseSseBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent[]> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | undefined;
  let id: string | undefined;
  /** The event's data lines so far, counted as they will be joined: an empty `data:` line adds its line break. */
  const data = new JoinedPieces("\n");

  /** Parses the buffer's whole lines, pushing the events they complete onto `out`. */
  function takeLines(final: boolean, out: SseEvent[]): void {
    let start = 0;
    // The next CR, kept across lines: most vendors send none, and searching the
    // rest of the buffer for one at every line is quadratic in a burst of events.
    let cr = buffer.indexOf("\r");
    for (;;) {
      const lf = buffer.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF: wait for more.
        if (cr === buffer.length - 1 && !final) break;
        end = cr;
        next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const line = buffer.slice(start, end);
      start = next;
      if (line === "") {
        if (!data.empty || event !== undefined) out.push({ event, data: data.take(), id });
        event = undefined;
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") {
        data.add(value);
        if (data.chars > MAX_EVENT_CHARS) throw new FrameTooLarge(MAX_EVENT_CHARS);
      } else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    buffer = buffer.slice(start);
    // What is left is one unfinished line: a vendor that never ends it must not be buffered without end.
    if (buffer.length > MAX_EVENT_CHARS) throw new FrameTooLarge(MAX_EVENT_CHARS);
  }

  // What the buffer holds while pieces are held is an unfinished line (after a CR at its end, the next piece may
  // begin a new one: it is not held).
  const held = new HeldLine();
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    if (buffer !== "" && text.indexOf("\n") === -1 && text.indexOf("\r") === -1 && !buffer.endsWith("\r")) {
      held.hold(text, buffer.length);
      continue;
    }
    buffer += held.take() + text;
    const { events, failure } = completed(false);
    if (events.length > 0) yield events;
    if (failure !== undefined) throw failure;
  }
  buffer += held.take() + decoder.decode();
  // A stream that ends without a trailing blank line still delivers its last event.
  buffer += "\n\n";
  const { events, failure } = completed(true);
  if (events.length > 0) yield events;
  if (failure !== undefined) throw failure;

  /** The events the buffer's whole lines complete, and what stopped the parse (FrameTooLarge) if anything did. */
  function completed(final: boolean): { events: SseEvent[]; failure?: unknown } {
    const events: SseEvent[] = [];
    try {
      takeLines(final, events);
      return { events };
    } catch (failure) {
      return { events, failure };
    }
  }
}
