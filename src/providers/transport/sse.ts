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
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | undefined;
  let id: string | undefined;
  let data: string[] = [];

  function* takeLines(final: boolean): Generator<SseEvent> {
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
        if (data.length > 0 || event !== undefined) yield { event, data: data.join("\n"), id };
        event = undefined;
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    buffer = buffer.slice(start);
  }

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* takeLines(false);
  }
  buffer += decoder.decode();
  // A stream that ends without a trailing blank line still delivers its last event.
  buffer += "\n\n";
  yield* takeLines(true);
}
