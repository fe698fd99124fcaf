import type { ServiceImpl } from "@connectrpc/connect";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../src/api/json-depth.js";
import { jsonNestsDeeperThan } from "../../src/common/json-nesting.js";
import { JSON_BODY_DEPTH_LIMIT } from "../../src/server/http-handler.js";
import { callH1, twinPair } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

// A JSON body nested past the bound is refused before JSON.parse builds it
// (src/common/json-nesting.ts), by the lean path and connect-es alike, and the
// lean path decodes a body that fails once, answering as connect-es would.

const bytes = (text: string) => new TextEncoder().encode(text);
const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

describe("the nesting scan", () => {
  /** JSON text whose strings are full of brackets, quotes and backslashes (escaped by JSON.stringify). */
  const tricky = fc.stringMatching(/^[[\]{}"\\a\u00e9\u8a9e]{0,12}$/);
  const { json } = fc.letrec<{ json: unknown; object: unknown; array: unknown }>((tie) => ({
    json: fc.oneof({ depthSize: "small", withCrossShrink: true }, tricky, fc.integer(), fc.constant(null), tie("object"), tie("array")),
    object: fc.dictionary(tricky, tie("json"), { maxKeys: 4 }),
    array: fc.array(tie("json"), { maxLength: 4 }),
  }));

  it("says what measuring the parsed value says, at every limit, brackets in strings and escapes included", () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), fc.constantFrom("", " ", "\n  "), (value, limit, space) => {
        const text = JSON.stringify(value, null, space);
        expect(jsonNestsDeeperThan(bytes(text), limit)).toBe(nestsDeeperThan(JSON.parse(text), limit));
      }),
      { numRuns: 5_000 },
    );
  });

  it("skips long strings of quotes, backslashes and brackets exactly (a byte at a time, then by indexOf)", () => {
    const long = fc.stringMatching(/^(?:[[\]{}"\\]|a{1,40}|\u8a9e){0,60}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(long, fc.integer({ min: 0, max: 4 })), { maxLength: 6 }), fc.integer({ min: 0, max: 6 }), (items, limit) => {
        const text = JSON.stringify(items.map(([string, levels]) => [string, JSON.parse(deep(levels) || "null"), string]));
        expect(jsonNestsDeeperThan(bytes(text), limit)).toBe(nestsDeeperThan(JSON.parse(text), limit));
      }),
      { numRuns: 3_000 },
    );
  });

  it.each<[string, string, number, boolean]>([
    ["a scalar", "7", 0, false],
    ["[] is one level", "[]", 0, true],
    ["[] is one level", "[]", 1, false],
    ["brackets in a string do not count", `{"a":"${"[".repeat(1_000)}"}`, 1, false],
    ["an escaped quote does not end a string", `{"a":"x\\"${"[".repeat(1_000)}"}`, 1, false],
    ["an escaped backslash before a quote does", `{"a":"x\\\\","b":[[1]]}`, 2, true],
    ["three backslashes and a quote do not", `{"a":"x\\\\\\"[[["}`, 1, false],
    ["a string of backslashes only", `["\\\\\\\\",[[]]]`, 2, true],
    ["a \\u0022 is no quote", `["\\u0022",[[]]]`, 2, true],
    ["multi-byte characters around brackets", `{"é語":["語",["🙂",[]]]}`, 3, true],
    ["a string left open", `["${"[".repeat(100)}`, 1, false],
    ["a string left open on a backslash", `["${"a".repeat(31)}\\`, 1, false],
    ["an escaped quote at each distance from the opening one", `[${Array.from({ length: 80 }, (_, n) => `["${"a".repeat(n)}\\\\\\"]",[]]`).join(",")}]`, 2, true],
    ["an escaped quote at each distance from the opening one", `[${Array.from({ length: 80 }, (_, n) => `["${"a".repeat(n)}\\\\\\"]",[]]`).join(",")}]`, 3, false],
    ["deep, then more text", `${deep(70)} trailing`, 64, true],
  ])("%s", (name, text, limit, expected) => {
    if (!name.includes("left open") && !name.includes("more text")) expect(() => JSON.parse(text)).not.toThrow();
    expect(jsonNestsDeeperThan(bytes(text), limit)).toBe(expected);
    expect(jsonNestsDeeperThan(Buffer.from(text), limit)).toBe(expected);
  });

  it("reads a view of a larger buffer within its bounds only", () => {
    const whole = Buffer.from(`[[[[${deep(3)}]]]]`);
    expect(jsonNestsDeeperThan(whole.subarray(4, 10), 3)).toBe(false);
    expect(jsonNestsDeeperThan(new Uint8Array(whole.buffer, whole.byteOffset + 3, 8), 3)).toBe(true);
  });
});

// Twin handlers, one with the lean path and one with connect-es alone (as in lean-rpc.test.ts).

const TOO_DEEP = `the request nests JSON objects and arrays deeper than ${JSON_BODY_DEPTH_LIMIT} levels`;
const served: string[] = [];

function service(tag: string): ServiceImpl<typeof AIService> {
  return {
    async chat(req) {
      served.push(tag);
      return { model: req.model };
    },
    async *chatStream(req) {
      served.push(tag);
      yield { event: { case: "delta" as const, value: { content: "one" } } };
      yield { event: { case: "summary" as const, value: { model: req.model } } };
    },
    async embed(req) {
      served.push(tag);
      return { model: req.model };
    },
    async listModels() {
      served.push(tag);
      return {};
    },
  };
}

const twins = twinPair(service, served);
const { same } = twins;

const CHAT = "/switchboard.v1.AIService/Chat";
const STREAM = "/switchboard.v1.AIService/ChatStream";
const LIST = "/switchboard.v1.AIService/ListModels";
const JSON_TYPE = { "content-type": "application/json" };
const STREAM_JSON = { "content-type": "application/connect+json" };

/** A ChatRequest with `extra` (an unknown field, which protobuf-es would drop unread) holding `value`. */
const withExtra = (value: string) => `{"model":"m","extra":${value}}`;
const LIMIT = JSON_BODY_DEPTH_LIMIT;

describe("a JSON body nested past the bound is refused the same on the lean path and by connect-es", () => {
  it("the bound leaves every Struct field its MAX_JSON_DEPTH, with room to spare", () => {
    // {"tools":[{"parameters":{…MAX_JSON_DEPTH…}}]}: three levels around the Struct.
    expect(LIMIT).toBeGreaterThanOrEqual(MAX_JSON_DEPTH + 3);
  });

  it.each<[string, string, boolean]>([
    ["nested arrays, the whole body", deep(100_000), true],
    ["one level past the bound in an unknown field", withExtra(deep(LIMIT)), true],
    ["at the bound in an unknown field (dropped unread, served)", withExtra(deep(LIMIT - 1)), false],
    ["brackets inside a string (served)", `{"model":"${"[{".repeat(5_000)}"}`, false],
    ["an escaped quote keeps the brackets in the string (served)", `{"model":"a\\"${"[".repeat(1_000)}"}`, false],
    ["an escaped backslash ends the string: the brackets after it count", `{"model":"a\\\\","extra":${deep(LIMIT)}}`, true],
    ["nested objects", withExtra(`${'{"a":'.repeat(LIMIT)}1${"}".repeat(LIMIT)}`), true],
  ])("Connect JSON unary (Chat): %s", async (_, body, refused) => {
    const { answer, text, path } = await same("h1", CHAT, JSON_TYPE, bytes(body));
    if (refused) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining(TOO_DEEP), details: [{ type: "google.rpc.ErrorInfo", debug: { reason: "INVALID_ARGUMENT" } }] });
      expect(path).toBeUndefined();
    } else {
      expect(answer.status).toBe(200);
      expect(path).toBe("lean");
    }
  });

  it("Connect JSON unary, an answer the caller accepts gzipped", async () => {
    const { answer, text } = await same("h1", CHAT, { ...JSON_TYPE, "accept-encoding": "gzip" }, bytes(deep(10_000)));
    expect(answer.status).toBe(400);
    expect(text).toContain(TOO_DEEP);
  });

  it("Connect JSON unary, gzipped (connect-es decompresses it; the bound holds after)", async () => {
    const { answer, text } = await same("h1", CHAT, { ...JSON_TYPE, "content-encoding": "gzip" }, gzipSync(deep(1_000_000)));
    expect(answer.status).toBe(400);
    expect(text).toContain(TOO_DEEP);
  });

  it("Connect JSON, a method connect-es serves (ListModels)", async () => {
    const { answer, text } = await same("h1", LIST, JSON_TYPE, bytes(deep(100_000)));
    expect(answer.status).toBe(400);
    expect(text).toContain(TOO_DEEP);
  });

  it.each([
    ["nested arrays", deep(100_000), true],
    ["an escaped backslash, then too deep", `{"model":"a\\\\","extra":${deep(LIMIT)}}`, true],
    ["brackets inside a string (served)", `{"model":"a\\"${"[".repeat(1_000)}"}`, false],
  ])("Connect JSON stream (ChatStream): %s", async (_, body, refused) => {
    const { answer, text, path } = await same("h1", STREAM, STREAM_JSON, frame(bytes(body)));
    expect(answer.status).toBe(200);
    if (refused) {
      expect(text).toContain(TOO_DEEP);
      expect(text).toContain('"reason":"INVALID_ARGUMENT"');
      expect(path).toBeUndefined();
    } else expect(path).toBe("lean");
  });

  it.each([
    ["gRPC in JSON (Chat)", CHAT, { "content-type": "application/grpc+json" }],
    ["gRPC in JSON (ChatStream)", STREAM, { "content-type": "application/grpc+json" }],
  ])("%s", async (_, path, headers) => {
    const { answer, text } = await same("h2", path, headers, frame(bytes(deep(100_000))));
    expect(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]).toBe("3");
    expect(text).toContain(TOO_DEEP);
  });

  it("gRPC-Web in JSON", async () => {
    const { text } = await same("h1", CHAT, { "content-type": "application/grpc-web+json" }, frame(bytes(deep(100_000))));
    expect(text).toContain("grpc-status: 3");
    expect(text).toContain(TOO_DEEP.replaceAll(" ", "%20"));
  });
});

describe("a body that fails to decode on the lean path is answered as connect-es answers it", () => {
  const notProtobuf = Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07]);
  const long = "k".repeat(2_000);
  it.each<[string, "h1" | "h2", string, Record<string, string>, Uint8Array]>([
    ["Connect JSON, a duplicate key so long that the error is compressed", "h1", CHAT, { ...JSON_TYPE, "accept-encoding": "gzip" }, bytes(`{"${long}":1,"${long}":2}`)],
    ["Connect JSON, a syntax error, gzip accepted", "h1", CHAT, { ...JSON_TYPE, "accept-encoding": "gzip" }, bytes("{not json")],
    ["Connect JSON stream, a field of the wrong type", "h1", STREAM, STREAM_JSON, frame(bytes('{"model":7}'))],
    ["Connect JSON stream, a long duplicate key, gzip accepted", "h1", STREAM, { ...STREAM_JSON, "connect-accept-encoding": "gzip" }, frame(bytes(`{"${long}":1,"${long}":2}`))],
    ["Connect binary stream, not protobuf, gzip accepted", "h1", STREAM, { "content-type": "application/connect+proto", "connect-accept-encoding": "gzip" }, frame(notProtobuf)],
    ["gRPC stream, not protobuf", "h2", STREAM, { "content-type": "application/grpc" }, frame(notProtobuf)],
    ["gRPC unary, not protobuf", "h2", CHAT, { "content-type": "application/grpc" }, frame(notProtobuf)],
  ])("%s", async (_, protocol, path, headers, body) => {
    const { answer, path: took } = await same(protocol, path, headers, body);
    expect(took).toBeUndefined();
    expect(answer.status === 200 ? (answer.trailers["grpc-status"] ?? "end frame") : answer.status).not.toBe("0");
  });

  it("decodes it once: JSON.parse sees the body once, on the lean path as through connect-es", async () => {
    const marker = `once-${Math.random()}`;
    const failing = [
      `{"model":"${marker}-syntax"`,
      `{"model":"${marker}-dup","\\u006dodel":"b"}`,
      `{"model":7,"note":"${marker}-type"}`,
      `{"model":"${marker}-list","messages":"not a list"}`,
    ];
    const parse = vi.spyOn(JSON, "parse");
    try {
      for (const [twinOf, headers, wrap] of [
        [twins.lean, JSON_TYPE, (b: Uint8Array) => b],
        [twins.lean, STREAM_JSON, frame],
        [twins.plain, JSON_TYPE, (b: Uint8Array) => b],
      ] as const) {
        for (const text of failing) {
          parse.mockClear();
          served.length = 0;
          const path = headers === JSON_TYPE ? CHAT : STREAM;
          const answer = await callH1(twinOf.h1, path, headers, wrap(bytes(text)));
          expect(answer.status === 200 ? "stream" : answer.status).not.toBe(200);
          expect(served).toEqual([]);
          expect(parse.mock.calls.filter(([arg]) => arg === text), `${text} to ${path}`).toHaveLength(1);
        }
      }
    } finally {
      parse.mockRestore();
    }
  });
});
