import { JoinedPieces } from "./joined-pieces.js";

/**
 * The longest stream event (SSE: its data lines as joined, the line breaks
 * between them counted) or line (JSON lines) read: 8 Mi characters, so at
 * least 8 MiB of the wire. A stream's events are small: a token or a
 * few, a fragment of a tool call's arguments, at most a whole answer from a
 * vendor that sends one event (a few hundred KB for the longest answers any
 * model writes). What is not yet a whole event is buffered, so without a
 * bound a vendor that never ends a line would fill the gateway's memory
 * before the caller heard anything. What is buffered is held in few strings
 * (JoinedPieces), so the bound on characters bounds memory too.
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
 * quadratic in the line's length. Held as JoinedPieces: a line sent a byte
 * at a time costs its characters, not a string for each read.
 */
export class HeldLine {
  private readonly pieces = new JoinedPieces("");

  /** Holds a piece of the line the parser has buffered `buffered` characters of; past MAX_EVENT_CHARS in all, throws FrameTooLarge. */
  hold(text: string, buffered: number): void {
    if (buffered + this.pieces.chars + text.length > MAX_EVENT_CHARS) throw new FrameTooLarge(MAX_EVENT_CHARS);
    this.pieces.add(text);
  }

  /** The pieces held, joined ("" for none); none are held after. */
  take(): string {
    return this.pieces.take();
  }
}
