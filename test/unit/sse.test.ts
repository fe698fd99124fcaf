import { describe, expect, it } from "vitest";
import { parseJsonLinesBatches } from "../../src/providers/transport/json-lines.js";
import { parseSse, parseSseBatches } from "../../src/providers/transport/sse.js";

async function events(...chunks: string[]) {
  async function* body() {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  const out = [];
  for await (const event of parseSse(body())) out.push(event);
  return out;
}

describe("parseSse", () => {
  it("reads OpenAI framing, split anywhere", async () => {
    const got = await events('data: {"a"', ':1}\n\nda', "ta: [DONE]\n\n");
    expect(got.map((e) => e.data)).toEqual(['{"a":1}', "[DONE]"]);
  });

  it("reads DashScope framing: no space after the colon, a status comment, named events", async () => {
    const got = await events("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"x\":1}\n\n");
    expect(got).toEqual([{ id: "1", event: "result", data: '{"x":1}' }]);
  });

  it("reads CRLF framing (Gemini), even with the CR and LF in different chunks", async () => {
    const got = await events("data: one\r", "\n\r\ndata: two\r\n\r\n");
    expect(got.map((e) => e.data)).toEqual(["one", "two"]);
  });

  it("reads every line end mixed in one chunk: LF lines before a CR, CR alone, then CRLF", async () => {
    const got = await events("data: one\n\ndata: two\n\ndata: three\r\rdata: four\r\n\r\ndata: five\n\n");
    expect(got.map((e) => e.data)).toEqual(["one", "two", "three", "four", "five"]);
  });

  it("joins multi-line data and ignores keep-alive comments", async () => {
    const got = await events(": keep-alive\n\ndata: a\ndata: b\n\n");
    expect(got.map((e) => e.data)).toEqual(["a\nb"]);
  });

  it("delivers a last event that has no trailing blank line", async () => {
    expect((await events("event: message_stop\ndata: {}")).map((e) => e.event)).toEqual(["message_stop"]);
  });

  it("decodes multi-byte characters split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: 你好\n\n");
    async function* body() {
      yield bytes.slice(0, 8);
      yield bytes.slice(8);
    }
    const out = [];
    for await (const event of parseSse(body())) out.push(event.data);
    expect(out).toEqual(["你好"]);
  });
});

describe("parseSseBatches and parseJsonLinesBatches", () => {
  async function* pieces(...chunks: string[]): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  async function batches<T>(source: AsyncIterable<T[]>): Promise<T[][]> {
    const out: T[][] = [];
    for await (const batch of source) out.push(batch);
    return out;
  }

  it("give the events each piece of the body completes together, one step for a burst read at once", async () => {
    const got = await batches(parseSseBatches(pieces("data: 1\n\ndata: 2\n\nda", "ta: 3\n\ndata: 4\n\n", "data: [DO", "NE]\n\n")));
    expect(got.map((batch) => batch.map((e) => e.data))).toEqual([["1", "2"], ["3", "4"], ["[DONE]"]]);
    const lines = await batches(parseJsonLinesBatches(pieces('{"a":1}\n{"a":2}\n{"a"', ':3}\n\n{"a":4}')));
    expect(lines.map((batch) => batch.map((e) => e.data))).toEqual([['{"a":1}', '{"a":2}'], ['{"a":3}'], ['{"a":4}']]);
  });
});
