import { describe, expect, it } from "vitest";
import { parseSse } from "../../src/providers/transport/sse.js";

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
