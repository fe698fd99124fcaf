import { describe, expect, it } from "vitest";
import { openOnRead, watchStream } from "../../src/api/stream-wrappers.js";

/** A source stream that notes its own ending, as the gateway's generator settles a call in its finally. */
function source(events: string[], fail?: Error): AsyncIterable<number> {
  return (async function* () {
    try {
      yield 1;
      yield 2;
      if (fail) throw fail;
    } finally {
      events.push("source ended");
    }
  })();
}

async function read<T>(stream: AsyncIterable<T>, take = Infinity): Promise<T[]> {
  const seen: T[] = [];
  for await (const value of stream) {
    seen.push(value);
    if (seen.length >= take) break;
  }
  return seen;
}

// watchStream stands in for an async generator's catch and finally around yield*: the same
// messages, the same mapped failure, and the end reported once, after the source's own.
describe("watchStream", () => {
  it("passes every message and reports a completed stream once", async () => {
    const events: string[] = [];
    const stream = watchStream(source(events), { onEnd: (outcome) => events.push(`end: ${String(outcome)}`) });
    expect(await read(stream)).toEqual([1, 2]);
    expect(events).toEqual(["source ended", "end: undefined"]);
  });

  it("maps a failure for the reader and the end report alike", async () => {
    const events: string[] = [];
    const stream = watchStream(source(events, new Error("vendor gone")), {
      mapError: (err) => new Error(`mapped ${(err as Error).message}`),
      onEnd: (outcome) => events.push(`end: ${(outcome as Error).message}`),
    });
    await expect(read(stream)).rejects.toThrow("mapped vendor gone");
    expect(events).toEqual(["source ended", "end: mapped vendor gone"]);
  });

  it("reports a reader that stops early as cancelled, after the source has ended", async () => {
    const events: string[] = [];
    const stream = watchStream(source(events), { onEnd: (outcome) => events.push(`end: ${String(outcome)}`), cancelled: () => "cancelled" });
    expect(await read(stream, 1)).toEqual([1]);
    expect(events).toEqual(["source ended", "end: cancelled"]);
  });

  it("ends the source when its reader throws into it (connect-es, a write to a caller gone), and reports the error", async () => {
    const events: string[] = [];
    const stream = watchStream(source(events), { onEnd: (outcome) => events.push(`end: ${(outcome as Error).message}`), mapError: (err) => new Error(`mapped ${(err as Error).message}`) });
    // As connect-es's server stream does: its yield* (compiled) passes a failed write to the iterator's throw(), and only if it has one.
    const reading = stream[Symbol.asyncIterator]();
    expect(await reading.next()).toEqual({ done: false, value: 1 });
    expect(reading.throw).toBeTypeOf("function");
    await expect(reading.throw!(new Error("write to a destroyed stream"))).rejects.toThrow("write to a destroyed stream");
    expect(events).toEqual(["source ended", "end: mapped write to a destroyed stream"]);
  });
});

describe("openOnRead", () => {
  it("opens the stream on the first read, and a failure to open is the first read's failure", async () => {
    let opened = 0;
    const stream = openOnRead(async () => {
      opened++;
      return source([]);
    });
    expect(opened).toBe(0);
    expect(await read(stream)).toEqual([1, 2]);
    expect(opened).toBe(1);
    await expect(read(openOnRead(() => Promise.reject(new Error("refused"))))).rejects.toThrow("refused");
  });

  it("ends the opened stream when the reader stops early", async () => {
    const events: string[] = [];
    expect(await read(openOnRead(async () => source(events)), 1)).toEqual([1]);
    expect(events).toEqual(["source ended"]);
  });
});
