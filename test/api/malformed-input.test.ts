import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { spawnGateway } from "../support/gateway-process.js";
import { connectStream, connectUnary, frame, grpcWeb, type RawAnswer } from "../support/raw-rpc.js";
import { concat, deepStruct, lengthDelimited } from "../support/wire.js";

const world = rawRpcWorld();

const auth = { authorization: `Bearer ${MASTER_KEY}` };
const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";
const hello = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }));
/** Bytes that are no protobuf message: a field with the unused wire type 7. */
const notProtobuf = Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07]);
/** ChatRequest.model (field 1) holding bytes that are not UTF-8. */
const badUtf8 = lengthDelimited(1, [0x67, 0xff, 0xfe, 0x70]);
/** A well-formed request whose vendor_options (field 14) nest `depth` levels. */
const withVendorOptions = (depth: number) => concat(hello, lengthDelimited(14, deepStruct(depth)));
const grpcHeaders = { ...auth, "content-type": "application/grpc" };

describe("a request that cannot be decoded is the caller's fault (InvalidArgument), in every protocol", () => {
  it("Connect: random bytes as application/proto → HTTP 400 invalid_argument, naming the problem", async () => {
    const answer = await connectUnary(world.gw.url, CHAT, notProtobuf, { ...auth, "content-type": "application/proto" });
    expect(answer.status).toBe(400);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.message).toMatch(/^the request cannot be decoded: .*wire type/);
  });

  it("gRPC: bytes that are not protobuf → InvalidArgument (3)", async () => {
    const answer = await world.grpc.call(CHAT, frame(notProtobuf), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.message).toContain("cannot be decoded");
  });

  it("gRPC: invalid UTF-8 in a string field → InvalidArgument, saying so", async () => {
    const answer = await world.grpc.call(CHAT, frame(badUtf8), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.message).toMatch(/cannot be decoded: .*not valid for encoding utf-8/);
  });

  it("gRPC: a 10,000-deep google.protobuf.Struct → InvalidArgument, and the gateway keeps serving", async () => {
    const answer = await world.grpc.call(CHAT, frame(withVendorOptions(10_000)), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.message).toContain("maximum recursion depth");
    expect((await world.gw.client("grpc").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "still there?" }] })).message?.content).toBe("Echo: still there?");
  });

  it("gRPC, server streaming: an undecodable request → InvalidArgument, and the log line says invalid_argument", async () => {
    const answer = await world.grpc.call(CHAT_STREAM, frame(badUtf8), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
    await expect.poll(() => world.gw.logs.entries.find((e) => e.method === "switchboard.v1.AIService/ChatStream" && e.status === "invalid_argument")).toBeTruthy();
  });

  it("gRPC-Web and Connect streaming: the end frame carries InvalidArgument", async () => {
    const web = await grpcWeb(world.gw.url, CHAT, frame(notProtobuf), { ...auth, "content-type": "application/grpc-web+proto" });
    expect(web.code).toBe(Code.InvalidArgument);
    const stream = await connectStream(world.gw.url, CHAT_STREAM, frame(notProtobuf), { ...auth, "content-type": "application/connect+proto" });
    expect(stream.code).toBe(Code.InvalidArgument);
    expect(stream.message).toContain("cannot be decoded");
  });

  it("gRPC: text that is not valid Unicode (an unpaired surrogate, which JSON can spell) is answered, not left hanging", async () => {
    const json = (body: string) => frame(new TextEncoder().encode(body));
    const headers = { ...auth, "content-type": "application/grpc+json" };
    // Quoted by the decoder, before any interceptor runs.
    const undecodable = await world.grpc.call(CHAT, json('{"model":"gpt-4o-mini","maxTokens":"\\ud800"}'), headers);
    expect(undecodable.code).toBe(Code.InvalidArgument);
    expect(undecodable.message).toContain("not valid Unicode");
    // Quoted from a vendor's error: the message keeps the rest, with U+FFFD in place of the surrogate.
    world.fake.enqueue({ kind: "error", status: 400, body: { error: { message: "Invalid 'user': \ud800 is not allowed", type: "invalid_request_error" } } });
    const relayed = await world.grpc.call(CHAT, frame(hello), grpcHeaders);
    expect(relayed.code).toBe(Code.InvalidArgument);
    expect(relayed.message).toContain("Invalid 'user': \uFFFD is not allowed");
  });

  it("gRPC: a frame flagged compressed without an encoding → InvalidArgument", async () => {
    const answer = await world.grpc.call(CHAT, frame(hello, 0b1), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
  });
});

describe("errors connect-es raises before any interceptor carry ErrorInfo too, in every protocol", () => {
  const LIST = "/switchboard.v1.AIService/ListModels";
  const tooBig = new Uint8Array(9 * 1024 * 1024);
  it.each<[string, () => Promise<RawAnswer>, Code, string]>([
    ["Connect: a bad timeout header", () => connectUnary(world.gw.url, LIST, "{}", { ...auth, "content-type": "application/json", "connect-timeout-ms": "soon" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
    ["Connect: JSON that does not parse", () => connectUnary(world.gw.url, LIST, '{"x":1', { ...auth, "content-type": "application/json" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
    ["Connect: an unknown content-encoding", () => connectUnary(world.gw.url, LIST, "{}", { ...auth, "content-type": "application/json", "content-encoding": "zstd" }), Code.Unimplemented, "UNIMPLEMENTED"],
    ["Connect: a message over the size limit", () => connectUnary(world.gw.url, CHAT, tooBig, { ...auth, "content-type": "application/proto" }), Code.ResourceExhausted, "RESOURCE_EXHAUSTED"],
    ["Connect streaming: a bad timeout header", () => connectStream(world.gw.url, CHAT_STREAM, frame(hello), { ...auth, "content-type": "application/connect+proto", "connect-timeout-ms": "soon" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
    ["gRPC: a bad timeout header", () => world.grpc.call(CHAT, frame(hello), { ...grpcHeaders, "grpc-timeout": "soon" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
    ["gRPC: an unknown message encoding", () => world.grpc.call(CHAT, frame(hello, 1), { ...grpcHeaders, "grpc-encoding": "zstd" }), Code.Unimplemented, "UNIMPLEMENTED"],
    ["gRPC: a message over the size limit", () => world.grpc.call(CHAT, frame(tooBig), grpcHeaders), Code.ResourceExhausted, "RESOURCE_EXHAUSTED"],
    ["gRPC-Web: a bad timeout header", () => grpcWeb(world.gw.url, CHAT, frame(hello), { ...auth, "content-type": "application/grpc-web+proto", "grpc-timeout": "soon" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
  ])("%s", async (_, call, code, reason) => {
    const answer = await call();
    expect(answer.code).toBe(code);
    expect(answer.reason).toBe(reason);
  });
});

describe("JSON values nest at most MAX_JSON_DEPTH levels, with a message naming the field", () => {
  it(`gRPC: vendor_options ${MAX_JSON_DEPTH} deep are served; one level more is InvalidArgument naming vendor_options`, async () => {
    expect((await world.grpc.call(CHAT, frame(withVendorOptions(MAX_JSON_DEPTH)), grpcHeaders)).code).toBe(0);
    const answer = await world.grpc.call(CHAT, frame(withVendorOptions(MAX_JSON_DEPTH + 1)), grpcHeaders);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.message).toBe(`vendor_options: nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it("Connect JSON: a 10,000-deep tool schema → HTTP 400", async () => {
    const schema = "[".repeat(10_000) + "]".repeat(10_000);
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":"hi"}],"tools":[{"name":"t","parameters":{"a":${schema}}}]}`;
    const answer = await connectUnary(world.gw.url, CHAT, body, { ...auth, "content-type": "application/json" });
    expect(answer.status).toBe(400);
    expect(answer.code).toBe(Code.InvalidArgument);
  });

  it("plain JSON to a stream → HTTP 415 saying what to send instead", async () => {
    const res = await fetch(`${world.gw.url}/switchboard.v1.AIService/ChatStream`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }),
    });
    expect(res.status).toBe(415);
    expect(await res.text()).toBe('ChatStream is a stream: send "application/connect+json" with enveloped messages (buf curl, grpcurl and Connect clients do), or call Chat for one answer\n');
  });

  it.each([
    [{ stream: "true" }, "stream: must be true or false"],
    [{ stream: true, stream_options: { include_usage: 1 } }, "stream_options.include_usage: must be true or false"],
  ])("REST chat: %j → HTTP 400 naming the field", async (fields, message) => {
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...fields });
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toContain(message);
  });

  it.each([
    ["an unknown field (vendor options)", (deep: string) => ({ extra: deep })],
    ["response_format.json_schema.schema", (deep: string) => ({ response_format: { type: "json_schema", json_schema: { name: "s", schema: { a: deep } } } })],
    ["tools[0].function.parameters", (deep: string) => ({ tools: [{ type: "function", function: { name: "t", parameters: { a: deep } } }] })],
  ])("REST: %s nested 100,000 deep → HTTP 400 naming the limit", async (_where, place) => {
    const marker = "__DEEP__";
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...place(marker) }).replace(`"${marker}"`, "[".repeat(100_000) + "]".repeat(100_000));
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toBe(`the body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it("typed API: a tool call's arguments (JSON as text) 200,000 deep → InvalidArgument naming them, before any vendor is asked", async () => {
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const before = world.fake.requests.length;
    const err = await failure(
      world.gw.client().chat({
        model: "gpt-4o-mini",
        messages: [
          { role: Role.USER, content: "q" },
          { role: Role.ASSISTANT, toolCalls: [{ id: "c1", name: "lookup", arguments: deep }] },
          { role: Role.TOOL, toolCallId: "c1", content: "r" },
        ],
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(`messages[1].tool_calls[0].arguments: nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`);
    expect(world.fake.requests.length).toBe(before);
  });

  it("REST: embeddings with a deeply nested input → HTTP 400", async () => {
    const body = `{"model":"text-embedding-3-small","input":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
    const res = await fetch(`${world.gw.url}/v1/embeddings`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
  });
});

describe("how much one typed call holds (src/providers/call-size.ts)", () => {
  const turns = (count: number) => Array.from({ length: count }, () => ({ role: Role.USER, content: "a" }));

  it("at most 10,000 messages: one more is InvalidArgument naming messages, on Chat and ChatStream", async () => {
    const before = world.fake.requests.length;
    const unary = await failure(world.gw.client().chat({ model: "gpt-4o-mini", messages: turns(10_001) }));
    expect(unary.code).toBe(Code.InvalidArgument);
    expect(unary.rawMessage).toBe("messages: at most 10000 messages a call, got 10001");
    const stream = async () => {
      for await (const _ of world.gw.client().chatStream({ model: "gpt-4o-mini", messages: turns(10_001) }));
    };
    expect((await failure(stream())).code).toBe(Code.InvalidArgument);
    expect(world.fake.requests.length).toBe(before);
    expect((await world.gw.client().chat({ model: "gpt-4o-mini", messages: turns(10_000) })).message?.role).toBe(Role.ASSISTANT);
  });

  it("at most 50,000 content blocks in all: parts, tool calls and reasoning together", async () => {
    const parts = Array.from({ length: 25_001 }, () => ({ part: { case: "text" as const, value: "a" } }));
    const err = await failure(world.gw.client().chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, parts }, { role: Role.USER, parts }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("messages: at most 50000 content blocks");
  });
});

describe("Internal is kept for real bugs, and their log line carries the cause and stack", () => {
  it("Connect: a TypeError in the pipeline → Internal 'internal error' to the caller; the log has the TypeError and where it was thrown", async () => {
    const spy = vi.spyOn(world.gw.app.gateway, "chat").mockImplementationOnce(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'choices')");
    });
    const err = await failure(world.gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }));
    spy.mockRestore();
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
    const line = world.gw.logs.entries.findLast((e) => e.method === "switchboard.v1.AIService/Chat");
    expect(line).toMatchObject({ level: "error", status: "internal", error: "internal error", cause: { type: "TypeError", message: "Cannot read properties of undefined (reading 'choices')" } });
    expect(line!.cause.stack).toContain("malformed-input.test.ts");
  });

  it("REST: the same bug → HTTP 500, and the log has the cause and stack", async () => {
    const spy = vi.spyOn(world.gw.app.gateway, "chat").mockImplementationOnce(async () => {
      throw new RangeError("Invalid array length");
    });
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }) });
    spy.mockRestore();
    expect(res.status).toBe(500);
    const line = world.gw.logs.entries.findLast((e) => e.method === "REST POST /v1/chat/completions");
    expect(line).toMatchObject({ status: "internal", cause: { type: "RangeError", message: "Invalid array length" } });
    expect(line!.cause.stack).toContain("malformed-input.test.ts");
  });
});

describe("configuration", () => {
  it("a SWITCHBOARD_PEPPER shorter than 16 bytes is a configuration error: exit 78, naming the variable, no stack trace", async () => {
    const proc = spawnGateway({ SWITCHBOARD_PEPPER: "too-short", SWITCHBOARD_MASTER_KEY: "sk-test", SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-pepper-")) });
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toContain("configuration error: environment: SWITCHBOARD_PEPPER: must be at least 16 bytes, got 9");
    expect(proc.output()).not.toMatch(/\n\s+at /);
  });
});

/** Sends requests one after another on a single kept-alive HTTP/1.1 connection; resolves each with status and body. */
function oneConnection(baseUrl: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (path: string, headers: Record<string, string>, body: Uint8Array | string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(baseUrl + path, { method: "POST", agent, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("utf8") }));
      });
      req.on("timeout", () => req.destroy(new Error(`no answer on the kept-alive connection to ${path}`)));
      req.on("error", reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

describe("an answer sent before the body is read to its end leaves the connection usable", () => {
  it("Connect streaming: the first of two large frames fails to decode → InvalidArgument, then the next request on the connection is answered", async () => {
    const conn = oneConnection(world.gw.url);
    const bad = frame(new Uint8Array(200_000).fill(0xff));
    const first = await conn.send(CHAT_STREAM, { ...auth, "content-type": "application/connect+proto" }, concat(bad, bad));
    expect(first.body).toContain("invalid_argument");
    const next = await conn.send(CHAT, { ...auth, "content-type": "application/json" }, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "next" }] }));
    expect(next.status).toBe(200);
    conn.close();
  });

  it.each([
    ["Connect unary", CHAT, "application/proto", (bytes: Uint8Array) => bytes],
    ["Connect streaming", CHAT_STREAM, "application/connect+proto", frame],
  ])("%s: a message over the size limit → ResourceExhausted, then the next request on the connection is answered", async (_, path, type, wrap) => {
    // connect-es refuses a declared length past the limit without reading a byte of it.
    const conn = oneConnection(world.gw.url);
    const first = await conn.send(path, { ...auth, "content-type": type }, wrap(new Uint8Array(9 * 2 ** 20)));
    expect(first.body).toContain("resource_exhausted");
    const next = await conn.send(CHAT, { ...auth, "content-type": "application/json" }, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "next" }] }));
    expect(next.status).toBe(200);
    conn.close();
  });

  it("REST: a body over the size limit → 413, then the next request on the connection is answered", async () => {
    const conn = oneConnection(world.gw.url);
    const first = await conn.send("/v1/chat/completions", { ...auth, "content-type": "application/json" }, `{"model":"gpt-4o-mini","pad":"${"x".repeat(9 * 2 ** 20)}"}`);
    expect(first.status).toBe(413);
    const next = await conn.send("/v1/chat/completions", { ...auth, "content-type": "application/json" }, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "next" }] }));
    expect(next.status).toBe(200);
    conn.close();
  });
});
