/**
 * The longest stream event (SSE) or line (JSON lines) read: 8 Mi characters,
 * so at least 8 MiB of the wire. A stream's events are small: a token or a
 * few, a fragment of a tool call's arguments, at most a whole answer from a
 * vendor that sends one event (a few hundred KB for the longest answers any
 * model writes). What is not yet a whole event is buffered, so without a
 * bound a vendor that never ends a line would fill the gateway's memory
 * before the caller heard anything.
 */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** A stream event or line longer than MAX_EVENT_CHARS: the parser stops there; the transport makes it the vendor's bad_response. */
export class FrameTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`a stream event is longer than ${limit} characters`);
    this.name = "FrameTooLarge";
  }
}

/**
 * Pieces of one long unfinished line, kept apart until a piece brings its end:
 * adding each to the parser's buffer and searching the buffer again would be
 * quadratic in the line's length.
 */
export class HeldLine {
  private pieces: string[] = [];
  private chars = 0;

  /** Holds a piece of the line the parser has buffered `buffered` characters of; past MAX_EVENT_CHARS in all, throws FrameTooLarge. */
  hold(text: string, buffered: number): void {
    this.chars += text.length;
    if (buffered + this.chars > MAX_EVENT_CHARS) throw new FrameTooLarge(MAX_EVENT_CHARS);
    this.pieces.push(text);
  }

  /** The pieces held, joined ("" for none); none are held after. */
  take(): string {
    if (this.pieces.length === 0) return "";
    const text = this.pieces.join("");
    this.pieces = [];
    this.chars = 0;
    return text;
  }
}
