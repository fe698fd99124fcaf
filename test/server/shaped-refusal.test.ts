// A refusal the gateway writes itself, before connect-es sees the request,
// in each protocol's shape: a header the error's metadata carries too is
// sent once, and the metadata goes where connect-es puts it when an
// interceptor throws the same error (the key gate's RATE_LIMITED was the auth
// interceptor's before the gate ran ahead of connect-es).
import { describe, expect, it } from "vitest";
import { Code, type ConnectError, createClient, createConnectRouter, createContextValues } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { gatewayError } from "../../src/common/gateway-error.js";
import { type RefusalAnswer, shapedRefusal } from "../../src/server/shaped-refusal.js";
import { failure } from "../support/failure.js";
import { frame } from "../support/raw-rpc.js";

const backlogged = () => gatewayError(Code.Unavailable, "too many request bodies arriving", "REQUEST_BODIES_BACKLOGGED", {}, 1_000);
const head = (contentType: string, path = "/switchboard.v1.AIService/Chat") => ({ path, header: (name: string) => (name === "content-type" ? contentType : undefined) });

describe("a refusal shaped for its protocol", () => {
  it("gives gRPC one retry-after, though the caller's headers and the error's metadata both name it", () => {
    const answer = shapedRefusal(head("application/grpc"), backlogged(), 503, { "retry-after": "1" });
    expect(answer.headers["retry-after"]).toBe("1");
    expect(answer.headers["grpc-status"]).toBe(String(Code.Unavailable));
  });

  it("keeps a header only the caller's headers give", () => {
    const answer = shapedRefusal(head("application/grpc"), gatewayError(Code.Unavailable, "busy", "BUSY"), 503, { "retry-after": "2" });
    expect(answer.headers["retry-after"]).toBe("2");
  });

  it("gives Connect unary and REST one retry-after too", () => {
    expect(shapedRefusal(head("application/json"), backlogged(), 503, { "retry-after": "1" }).headers["retry-after"]).toBe("1");
    expect(shapedRefusal(head("application/json", "/v1/chat/completions"), backlogged(), 503, { "retry-after": "1" }).headers["retry-after"]).toBe("1");
  });
});

/** RATE_LIMITED as the key gate refuses it: `retry-after` and the call's `x-request-id` in its metadata. */
const rateLimited = () => {
  const error = gatewayError(Code.ResourceExhausted, "key over its requests per minute", "RATE_LIMITED", { limit: "requests_per_minute" }, 3_000);
  error.metadata.set("x-request-id", "req-1");
  return error;
};
const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";

/** connect-es's own answer when an interceptor throws `error` before any message: its headers, its trailers (gRPC's), its body. */
async function connectEsAnswer(contentType: string, path: string, error: () => ConnectError) {
  const router = createConnectRouter({
    interceptors: [
      () => async () => {
        throw error();
      },
    ],
  });
  router.service(AIService, {});
  const handler = router.handlers.find((h) => h.requestPath === path)!;
  const res = await handler({
    httpVersion: "2.0",
    method: "POST",
    url: `http://localhost${path}`,
    header: new Headers({ "content-type": contentType }),
    body: createAsyncIterable([frame(new Uint8Array(0))]),
    signal: new AbortController().signal,
    contextValues: createContextValues(),
  });
  const body: Uint8Array[] = [];
  for await (const chunk of (res.body as AsyncIterable<Uint8Array> | undefined) ?? []) body.push(chunk);
  return { headers: Object.fromEntries(new Headers(res.header)), trailers: Object.fromEntries(new Headers(res.trailer)), body: Buffer.concat(body) };
}

/** What a connect-es client (connect-web's, over a fetch that gets `answer`) reads of a refusal. */
async function clientReads(protocol: "grpc-web" | "connect", answer: RefusalAnswer): Promise<ConnectError> {
  const fetch = async () => new Response(answer.body, { status: answer.status, headers: answer.headers });
  const baseUrl = "http://localhost";
  if (protocol === "grpc-web") return failure(createClient(AIService, createGrpcWebTransport({ baseUrl, fetch, useBinaryFormat: true })).chat({}));
  const client = createClient(AIService, createConnectTransport({ baseUrl, fetch, useBinaryFormat: true }));
  return failure(
    (async () => {
      for await (const _ of client.chatStream({}));
    })(),
  );
}

describe("a rate-limited key's refusal carries retry-after and x-request-id where connect-es puts an interceptor's error's", () => {
  it.each([
    ["gRPC-Web (its trailer frame)", "application/grpc-web+proto", CHAT],
    ["Connect streaming (its end-of-stream message)", "application/connect+proto", CHAT_STREAM],
  ])("%s: the answer connect-es gives, byte for byte", async (_, contentType, path) => {
    const theirs = await connectEsAnswer(contentType, path, rateLimited);
    const ours = shapedRefusal(head(contentType, path), rateLimited(), 429);
    expect(ours.headers).toEqual(theirs.headers);
    expect(Buffer.from(ours.body).toString("latin1")).toBe(theirs.body.toString("latin1"));
    expect(theirs.body.toString("latin1")).toContain("req-1");
  });

  it("gRPC-Web text: connect-es's gRPC-Web answer (it serves no text mode itself), in base64", async () => {
    const theirs = await connectEsAnswer("application/grpc-web+proto", CHAT, rateLimited);
    const ours = shapedRefusal(head("application/grpc-web-text+proto"), rateLimited(), 429);
    expect(ours.headers).toEqual({ "content-type": "application/grpc-web-text+proto" });
    expect(Buffer.from(Buffer.from(ours.body).toString("latin1"), "base64").toString("latin1")).toBe(theirs.body.toString("latin1"));
  });

  it("gRPC: one trailers-only HEADERS frame with what connect-es sends in its headers and trailers", async () => {
    const theirs = await connectEsAnswer("application/grpc+proto", CHAT, rateLimited);
    const { "content-type": _, ...ours } = shapedRefusal(head("application/grpc+proto"), rateLimited(), 429).headers;
    const { "content-type": __, ...theirHeaders } = theirs.headers;
    expect(ours).toEqual({ ...theirHeaders, ...theirs.trailers });
    expect(ours).toMatchObject({ "retry-after": "3", "x-request-id": "req-1" });
  });

  it.each(["grpc-web", "connect"] as const)("%s: a connect-es client reads each once, though the caller's headers give retry-after too", async (protocol) => {
    const [type, path] = protocol === "grpc-web" ? ["application/grpc-web+proto", CHAT] : ["application/connect+proto", CHAT_STREAM];
    const answer = shapedRefusal(head(type, path), rateLimited(), 429, { "retry-after": "3" });
    const read = await clientReads(protocol, answer);
    expect(read.code).toBe(Code.ResourceExhausted);
    expect(read.metadata.get("retry-after")).toBe("3");
    expect(read.metadata.get("x-request-id")).toBe("req-1");
  });
});
