// The stream parsers' bound on one event: what is not yet a whole event is
// buffered, so a vendor that never ends one is stopped at MAX_EVENT_CHARS,
// and the body is not read any further. What is buffered is held in few
// strings, so the bound on characters bounds memory: a vendor's empty data
// lines or one-byte reads count, and cost no more than their characters.
import { afterEach, describe, expect, it } from "vitest";
import { FrameTooLarge, MAX_EVENT_CHARS } from "../../src/providers/transport/frame-limit.js";
import { JoinedPieces } from "../../src/providers/transport/joined-pieces.js";
import { parseJsonLines } from "../../src/providers/transport/json-lines.js";
import { parseSse, parseSseBatches } from "../../src/providers/transport/sse.js";

const PIECE = 64 * 1024;
/** Pieces of a body the parser may pull before it has seen more than MAX_EVENT_CHARS of one event: no more. */
const PIECES_TO_LIMIT = Math.ceil(MAX_EVENT_CHARS / PIECE) + 1;

/** A body of `head`, then `fill` repeated in 64 KiB pieces without end; `pulled` counts the pieces read. */
function endless(head: string, fill: string): { body: AsyncGenerator<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const piece = new TextEncoder().encode(fill.repeat(PIECE / fill.length));
  async function* body(): AsyncGenerator<Uint8Array> {
    yield new TextEncoder().encode(head);
    for (;;) {
      pulled++;
      yield piece;
    }
  }
  return { body: body(), pulled: () => pulled };
}

async function drain<T>(events: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const event of events) out.push(event);
  return out;
}

async function fragments(data: string, size: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.slice(i, i + size));
  return out;
}

function body(...chunks: string[]): AsyncGenerator<Uint8Array> {
  return (async function* () {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  })();
}

/** The most strings any JoinedPieces held at once since `watchHeld` (the parsers' buffered event data and line pieces). */
let mostHeld = 0;
const add = JoinedPieces.prototype.add;
function watchHeld(): void {
  mostHeld = 0;
  JoinedPieces.prototype.add = function (this: JoinedPieces, piece: string) {
    add.call(this, piece);
    mostHeld = Math.max(mostHeld, this.held);
  };
}
afterEach(() => {
  JoinedPieces.prototype.add = add;
});

/** `count` copies of `line`, in pieces of 10,000 lines, made as they are read (never all at once); `pulled` counts the pieces read. */
function lines(line: string, count: number): { body: AsyncGenerator<Uint8Array>; pulled: () => number } {
  const perPiece = 10_000;
  const piece = new TextEncoder().encode(line.repeat(perPiece));
  let pulled = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < count; sent += perPiece) {
      pulled++;
      yield piece;
    }
    yield new TextEncoder().encode("\n");
  }
  return { body: body(), pulled: () => pulled };
}

describe("parseSse", () => {
  it("stops an event of empty data lines once their line breaks add up to more than MAX_EVENT_CHARS, holding few strings", async () => {
    // 10M `data:` lines with nothing after: each adds nothing to the data but its line break, and once cost a string and a slot.
    watchHeld();
    const { body: source, pulled } = lines("data:\n", 10_000_000);
    await expect(drain(parseSse(source))).rejects.toThrow(new FrameTooLarge(MAX_EVENT_CHARS));
    expect(pulled()).toBeLessThanOrEqual(Math.ceil(MAX_EVENT_CHARS / 10_000) + 1);
    expect(mostHeld).toBeLessThan(100);
  });

  it("holds an event of many short data lines in few strings, and passes it on whole", async () => {
    watchHeld();
    const { body: source } = lines("data: xy\n", 1_000_000);
    const events = await drain(parseSse(source));
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toBe(Array.from({ length: 1_000_000 }, () => "xy").join("\n"));
    expect(mostHeld).toBeLessThan(100);
  });

  it("holds a line sent a character at a time in few strings", async () => {
    watchHeld();
    const text = "z".repeat(200_000);
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode("data: ");
      for (const char of text) yield new TextEncoder().encode(char);
      yield new TextEncoder().encode("\n\n");
    }
    const events = await drain(parseSse(source()));
    expect(events.map((event) => event.data)).toEqual([text]);
    expect(mostHeld).toBeLessThan(100);
  });

  it("stops a line that never ends once it is longer than MAX_EVENT_CHARS, and reads no further", async () => {
    const { body: source, pulled } = endless('data: {"ok":1}\n\ndata: {"x":"', "B");
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of parseSse(source)) seen.push(event.data);
    })();
    await expect(reading).rejects.toThrow(FrameTooLarge);
    expect(seen).toEqual(['{"ok":1}']);
    expect(pulled()).toBeLessThanOrEqual(PIECES_TO_LIMIT);
  });

  it("passes on the events before an over-long one in the same piece, then stops", async () => {
    const piece = `data: {"ok":1}\n\ndata: ${"E".repeat(MAX_EVENT_CHARS + 1)}\n\n`;
    const seen: string[][] = [];
    const reading = (async () => {
      for await (const batch of parseSseBatches(body(piece))) seen.push(batch.map((event) => event.data));
    })();
    await expect(reading).rejects.toThrow(new FrameTooLarge(MAX_EVENT_CHARS));
    expect(seen).toEqual([['{"ok":1}']]);
  });

  it("stops an event whose data lines add up to more than MAX_EVENT_CHARS", async () => {
    const { body: source, pulled } = endless("", `data: ${"C".repeat(1017)}\n`);
    await expect(drain(parseSse(source))).rejects.toThrow(new FrameTooLarge(MAX_EVENT_CHARS));
    expect(pulled()).toBeLessThanOrEqual(PIECES_TO_LIMIT);
  });

  it("reads an event of MAX_EVENT_CHARS, however it is split", async () => {
    const data = "D".repeat(MAX_EVENT_CHARS);
    const events = await drain(parseSse(body(...(await fragments(`data: ${data}\n\n`, PIECE)))));
    expect(events).toHaveLength(1);
    expect(events[0]!.data.length).toBe(MAX_EVENT_CHARS);
  });

  it("passes on an event ended by a CR at the end of one piece as soon as the next piece begins another line", async () => {
    let more!: () => void;
    const gate = new Promise<void>((resolve) => (more = resolve));
    // Without "one", the parser would wait for the third piece, which comes only once "one" is out.
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode("data: one\r\r");
      yield new TextEncoder().encode("data: tw");
      await gate;
      yield new TextEncoder().encode("o\r\r");
    }
    const events = parseSse(source());
    expect((await events.next()).value).toMatchObject({ data: "one" });
    more();
    expect((await events.next()).value).toMatchObject({ data: "two" });
  });

  it("reads any number of events of any total size: the bound is on one event", async () => {
    const event = `data: ${"E".repeat(PIECE)}\n\n`;
    const events = await drain(parseSse(body(...Array.from({ length: 2 * PIECES_TO_LIMIT }, () => event))));
    expect(events).toHaveLength(2 * PIECES_TO_LIMIT);
  });
});

describe("parseJsonLines", () => {
  it("stops a line that never ends once it is longer than MAX_EVENT_CHARS, and reads no further", async () => {
    const { body: source, pulled } = endless('{"ok":1}\n{"x":"', "B");
    await expect(drain(parseJsonLines(source))).rejects.toThrow(FrameTooLarge);
    expect(pulled()).toBeLessThanOrEqual(PIECES_TO_LIMIT);
  });

  it("reads a line of MAX_EVENT_CHARS", async () => {
    const events = await drain(parseJsonLines(body(...(await fragments(`${"F".repeat(MAX_EVENT_CHARS)}\n`, PIECE)))));
    expect(events.map((event) => event.data.length)).toEqual([MAX_EVENT_CHARS]);
  });
});
