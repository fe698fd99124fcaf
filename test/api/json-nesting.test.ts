import { Code } from "@connectrpc/connect";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";
import { JSON_BODY_DEPTH_LIMIT } from "../../src/server/http-handler.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { connectStream, connectUnary, frame, grpcWeb } from "../support/raw-rpc.js";

// A JSON body nested past the gateway's bound is refused before it is parsed, on
// every surface, with the error each gives for too-deep JSON; Connect needs no
// gateway key to get that far (the body is decoded before the interceptors run).

const world = rawRpcWorld();

const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";
const LIST = "/switchboard.v1.AIService/ListModels";
const auth = { authorization: `Bearer ${MASTER_KEY}` };
const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
/** Just under 8 MiB of nested arrays: the body that froze the event loop. */
const HUGE = deep(Math.floor((8 * 1024 * 1024 - 64) / 2));
const bytes = (text: string) => new TextEncoder().encode(text);
const RPC_TOO_DEEP = `the request nests JSON objects and arrays deeper than ${JSON_BODY_DEPTH_LIMIT} levels`;
const REST_TOO_DEEP = `the body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`;

describe("RPCs: InvalidArgument with ErrorInfo, with or without a gateway key", () => {
  it.each([
    ["Chat (the lean path), plain", CHAT, {}, bytes(HUGE)],
    ["Chat, gzip", CHAT, { "content-encoding": "gzip" }, gzipSync(HUGE)],
    ["ListModels (connect-es), plain", LIST, {}, bytes(HUGE)],
    ["ListModels, gzip", LIST, { "content-encoding": "gzip" }, gzipSync(HUGE)],
    ["Chat with a key", CHAT, auth, bytes(`{"model":"gpt-4o-mini","vendorOptions":{"a":${deep(JSON_BODY_DEPTH_LIMIT)}}}`)],
  ])("Connect JSON: %s", async (_, path, headers, body) => {
    const answer = await connectUnary(world.gw.url, path, body, { "content-type": "application/json", ...headers });
    expect(answer).toMatchObject({ status: 400, code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    expect(answer.message).toContain(RPC_TOO_DEEP);
  });

  it("Connect JSON stream (ChatStream); without a key, a stream's request is not decoded at all (its interceptors run first)", async () => {
    const answer = await connectStream(world.gw.url, CHAT_STREAM, frame(bytes(HUGE)), { ...auth, "content-type": "application/connect+json" });
    expect(answer).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    expect(answer.message).toContain(RPC_TOO_DEEP);
    expect(await connectStream(world.gw.url, CHAT_STREAM, frame(bytes(HUGE)), { "content-type": "application/connect+json" })).toMatchObject({ code: Code.Unauthenticated });
  });

  it.each([
    ["Chat", CHAT, {}],
    ["ChatStream", CHAT_STREAM, auth],
  ])("gRPC in JSON: %s", async (_, path, headers) => {
    const answer = await world.grpc.call(path, frame(bytes(deep(100_000))), { ...headers, "content-type": "application/grpc+json" });
    expect(answer).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    expect(answer.message).toContain(RPC_TOO_DEEP);
  });

  it("gRPC-Web in JSON", async () => {
    const answer = await grpcWeb(world.gw.url, CHAT, frame(bytes(deep(100_000))), { "content-type": "application/grpc-web+json" });
    expect(answer).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    expect(answer.message).toContain(RPC_TOO_DEEP);
  });

  it("a Struct field at MAX_JSON_DEPTH is still served; one level more is refused naming the field, as before", async () => {
    const body = (levels: number) => `{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":"hi"}],"tools":[{"name":"t","parameters":{"a":${deep(levels - 1)}}}]}`;
    expect(await connectUnary(world.gw.url, CHAT, body(MAX_JSON_DEPTH), { ...auth, "content-type": "application/json" })).toMatchObject({ status: 200 });
    const answer = await connectUnary(world.gw.url, CHAT, body(MAX_JSON_DEPTH + 1), { ...auth, "content-type": "application/json" });
    expect(answer).toMatchObject({ status: 400, message: `tools[0].parameters: nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels` });
  });

  it("brackets inside strings, escaped quotes among them, do not count", async () => {
    const content = `a \\" quote, then ${"[{".repeat(5_000)} and a backslash \\\\`;
    const answer = await connectUnary(world.gw.url, CHAT, `{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":"${content}"}]}`, { ...auth, "content-type": "application/json" });
    expect(answer.status).toBe(200);
  });
});

describe("REST: the surface's 400, before the body is parsed", () => {
  const chat = (content: string) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${content}"}]}`;
  it.each([
    ["chat completions, plain", "/v1/chat/completions", {}, Buffer.from(HUGE)],
    ["chat completions, gzip", "/v1/chat/completions", { "content-encoding": "gzip" }, gzipSync(HUGE)],
    ["chat completions, one level past the bound", "/v1/chat/completions", {}, Buffer.from(`{"model":"gpt-4o-mini","x":${deep(MAX_JSON_DEPTH)}}`)],
    ["responses", "/v1/responses", {}, Buffer.from(HUGE)],
    ["messages, gzip", "/v1/messages", { "anthropic-version": "2023-06-01", "content-encoding": "gzip" }, gzipSync(HUGE)],
  ])("%s", async (_, path, headers, body) => {
    const res = await fetch(world.gw.url + path, { method: "POST", headers: { ...auth, "content-type": "application/json", ...headers }, body });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain(REST_TOO_DEEP);
  });

  it("at the bound, and brackets inside strings, are served", async () => {
    const atBound = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${deep(MAX_JSON_DEPTH - 2)}}}`;
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: atBound });
    expect(JSON.stringify(await res.json())).not.toContain(REST_TOO_DEEP);
    const inStrings = await fetch(`${world.gw.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chat(`a \\" quote, then ${"[{".repeat(5_000)}`) });
    expect(inStrings.status).toBe(200);
  });
});
