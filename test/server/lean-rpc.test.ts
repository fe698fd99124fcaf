import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import * as http from "node:http";
import * as http2 from "node:http2";
import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { AIService, ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { gatewayError } from "../../src/common/gateway-error.js";
import { BROTLI_QUALITY, GZIP_LEVEL } from "../../src/server/answer-compression.js";
import { callH1, callH2, startTwin, tagging, twinPair } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

// The lean path (src/server/lean-rpc) must answer exactly as connect-es does. Two
// twin handlers share one service and interceptors: one serves Chat, Embed and
// ChatStream on the lean path, the other through connect-es alone. Every request below
// goes to both, byte for byte, and what comes back (status, headers but the date,
// body, trailers) must be the same; the plain calls must have taken the lean path.

/** Which implementation served each call: the lean path's or connect-es's. */
const served: string[] = [];
/** Why each waiting call's signal fired, as its implementation saw it. */
const aborted: string[] = [];
/** Streams whose implementation has finished (its finally ran), by the path that served them. */
const finished: string[] = [];
/** Messages the "flood" stream has handed on so far. */
let flooded = 0;

/** Waits for the call's signal, then fails with its reason (noted in `aborted`). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener("abort", () => {
      const why = ConnectError.from(signal.reason);
      aborted.push(`${Code[why.code]}: ${why.rawMessage}`);
      reject(signal.reason);
    }),
  );
}

function service(tag: string): ServiceImpl<typeof AIService> {
  return {
    async chat(req, ctx) {
      served.push(tag);
      ctx.responseHeader.set("x-impl", "header");
      ctx.responseTrailer.set("x-impl-trailer", "trailer");
      switch (req.model) {
        case "fail":
          throw gatewayError(Code.ResourceExhausted, "too many calls for ünïcode key", "RATE_LIMITED", { key: "k1" }, 2_500);
        case "bug":
          throw new Error("a bug's own words");
        case "wait":
          return untilAborted(ctx.signal);
        case "big":
          return { model: "x".repeat(3_000) };
        default:
          return { model: req.model, requestId: ctx.timeoutMs() === undefined ? "no deadline" : "deadline" };
      }
    },
    async *chatStream(req, ctx) {
      served.push(tag);
      ctx.responseHeader.set("x-impl", "header");
      ctx.responseTrailer.set("x-impl-trailer", "trailer");
      const delta = (content: string) => ({ event: { case: "delta" as const, value: { content } } });
      try {
        switch (req.model) {
          case "fail":
            throw gatewayError(Code.ResourceExhausted, "too many calls for ünïcode key", "RATE_LIMITED", { key: "k1" }, 2_500);
          case "fail-later":
            yield delta("a start");
            throw gatewayError(Code.Unavailable, "the vendor went away", "UPSTREAM_UNAVAILABLE", { provider: "p" });
          case "bug":
            yield delta("a start");
            throw new Error("a bug's own words");
          case "wait":
            yield delta("a start");
            await untilAborted(ctx.signal);
            break;
          case "flood":
            for (let i = 0; i < 1_000; i++) {
              yield delta("z".repeat(64 * 1024));
              flooded++;
            }
            break;
          case "big":
            yield delta("x".repeat(3_000));
            yield delta("small");
            yield delta("y".repeat(3_000));
            break;
          default:
            for (const piece of ["one", "two", ctx.timeoutMs() === undefined ? "no deadline" : "deadline"]) yield delta(piece);
            yield { event: { case: "summary" as const, value: { model: req.model } } };
        }
      } finally {
        finished.push(tag);
      }
    },
    async embed(req) {
      served.push(tag);
      return { model: req.model, embeddings: [{ index: 0, values: [0.5, 0.25] }] };
    },
    async listModels() {
      return {};
    },
  };
}

const twins = twinPair(service, served);
const { same } = twins;

const chat = (model: string) => toBinary(ChatRequestSchema, create(ChatRequestSchema, { model, messages: [{ content: "hi" }] }));
const json = (model: string) => new TextEncoder().encode(JSON.stringify({ model, messages: [{ role: "ROLE_USER", content: "hi" }] }));
const CHAT = "/switchboard.v1.AIService/Chat";
const STREAM = "/switchboard.v1.AIService/ChatStream";
const CONNECT_STREAM = { "content-type": "application/connect+proto" };
const CONNECT_STREAM_JSON = { "content-type": "application/connect+json" };
const EMBED = "/switchboard.v1.AIService/Embed";
const PROTO = { "content-type": "application/proto" };
const JSON_TYPE = { "content-type": "application/json" };
const GRPC = { "content-type": "application/grpc" };
const tooBig = () => new Uint8Array(8 * 1024 * 1024 + 10);

describe("the lean unary path answers exactly as connect-es", () => {
  it.each([
    ["Connect JSON", JSON_TYPE, json("m1")],
    ["Connect JSON with a charset", { "content-type": "application/json; charset=utf-8" }, json("m1")],
    ["Connect JSON, an unknown field (ignored)", JSON_TYPE, new TextEncoder().encode('{"model":"m1","notAField":1}')],
    ["Connect binary", PROTO, chat("m1")],
    ["Connect binary, an empty body (an empty request)", PROTO, new Uint8Array()],
    ["Connect binary, with a deadline", { ...PROTO, "connect-timeout-ms": "60000" }, chat("m1")],
    ["Connect binary, a large answer the caller accepts gzipped", { ...PROTO, "accept-encoding": "gzip, br" }, chat("big")],
    ["Connect binary, a small answer the caller accepts gzipped", { ...PROTO, "accept-encoding": "gzip" }, chat("m1")],
    ["Connect JSON, an error with details and metadata", JSON_TYPE, json("fail")],
    ["Connect binary, an error with details and metadata", PROTO, chat("fail")],
    ["Connect binary, a bug", PROTO, chat("bug")],
    ["Connect binary, a deadline that passes", { ...PROTO, "connect-timeout-ms": "30" }, chat("wait")],
  ])("%s over HTTP/1.1 takes the lean path", async (_, headers, body) => {
    const { path } = await same("h1", CHAT, headers, body);
    expect(path).toBe("lean");
  });

  it("Connect over HTTP/2, and Embed", async () => {
    expect((await same("h2", CHAT, JSON_TYPE, json("m1"))).path).toBe("lean");
    const embed = toBinary(EmbedRequestSchema, create(EmbedRequestSchema, { model: "e", inputs: ["a"] }));
    expect((await same("h1", EMBED, PROTO, embed)).path).toBe("lean");
  });

  it.each([
    ["gRPC", GRPC, frame(chat("m1"))],
    ["gRPC as application/grpc+proto", { "content-type": "application/grpc+proto" }, frame(chat("m1"))],
    ["gRPC with a deadline", { ...GRPC, "grpc-timeout": "60S" }, frame(chat("m1"))],
    ["gRPC, a large answer the caller accepts gzipped", { ...GRPC, "grpc-accept-encoding": "gzip" }, frame(chat("big"))],
    ["gRPC, an error with details and metadata", GRPC, frame(chat("fail"))],
    ["gRPC, a bug", GRPC, frame(chat("bug"))],
    ["gRPC, a deadline that passes", { ...GRPC, "grpc-timeout": "30m" }, frame(chat("wait"))],
  ])("%s takes the lean path", async (_, headers, body) => {
    const { path } = await same("h2", CHAT, headers, body);
    expect(path).toBe("lean");
  });

  it.each([
    ["Connect JSON that is not JSON", "h1", JSON_TYPE, new TextEncoder().encode("{not json")],
    ["Connect JSON with a duplicate key", "h1", JSON_TYPE, new TextEncoder().encode('{"model":"a","\\u006dodel":"b"}')],
    ["Connect JSON with an unpaired surrogate", "h1", JSON_TYPE, new TextEncoder().encode('{"model":"a\\ud800"}')],
    ["Connect JSON with a field of the wrong type", "h1", JSON_TYPE, new TextEncoder().encode('{"model":7}')],
    ["Connect binary that is not protobuf", "h1", PROTO, Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07])],
    ["a Connect body over the size bound", "h1", PROTO, tooBig()],
    ["gRPC with no frame", "h2", GRPC, new Uint8Array()],
    ["gRPC with two frames", "h2", GRPC, Buffer.concat([frame(chat("m1")), frame(chat("m2"))])],
    ["gRPC with a truncated frame", "h2", GRPC, frame(chat("m1")).subarray(0, 8)],
    ["gRPC flagged compressed without an encoding", "h2", GRPC, frame(chat("m1"), 1)],
    ["gRPC that is not protobuf", "h2", GRPC, frame(Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07]))],
    ["a gRPC body over the size bound", "h2", GRPC, frame(tooBig())],
  ] as const)("%s is declined after reading and answered by connect-es", async (_, protocol, headers, body) => {
    const { answer, path } = await same(protocol, CHAT, headers, body);
    expect(path).toBeUndefined();
    expect(answer.status === 200 ? answer.trailers["grpc-status"] : answer.status).not.toBe(protocol === "h1" ? 200 : "0");
  });

  it.each([
    ["an invalid Connect deadline", "h1", { ...PROTO, "connect-timeout-ms": "soon" }, chat("m1")],
    ["a Connect deadline over a day", "h1", { ...PROTO, "connect-timeout-ms": "99999999999" }, chat("m1")],
    ["a gzipped Connect request", "h1", { ...PROTO, "content-encoding": "gzip" }, gzipSync(chat("m1"))],
    ["an unknown Connect encoding", "h1", { ...PROTO, "content-encoding": "zstd" }, chat("m1")],
    ["an invalid gRPC deadline", "h2", { ...GRPC, "grpc-timeout": "1 second" }, frame(chat("m1"))],
    ["a gzipped gRPC request", "h2", { ...GRPC, "grpc-encoding": "gzip" }, frame(gzipSync(chat("m1")), 1)],
    ["gRPC in JSON", "h2", { "content-type": "application/grpc+json" }, frame(json("m1"))],
    ["a Connect streaming content type on a unary method", "h1", { "content-type": "application/connect+proto" }, frame(chat("m1"))],
    ["an unknown content type", "h1", { "content-type": "text/plain" }, chat("m1")],
  ] as const)("%s is left to connect-es", async (_, protocol, headers, body) => {
    const { path } = await same(protocol, CHAT, headers, body);
    // Served by connect-es (the router's implementation) or refused before any implementation ran.
    expect(path).not.toBe("lean");
  });
});

describe("answers are compressed at a gateway's speed, whatever encoding the caller asks for", () => {
  // connect-node's brotli runs at quality 11: about 23 ms of CPU for a 20 KB answer, a caller's to spend.
  const again = {
    br: (bytes: Buffer) => brotliCompressSync(brotliDecompressSync(bytes), { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }),
    gzip: (bytes: Buffer) => gzipSync(gunzipSync(bytes), { level: GZIP_LEVEL }),
  };
  it.each([
    ["Connect", "br"],
    ["Connect", "gzip"],
    ["gRPC", "br"],
    ["gRPC", "gzip"],
  ] as const)("%s, %s", async (protocol, encoding) => {
    for (const twin of [twins.lean, twins.plain]) {
      const answer =
        protocol === "Connect"
          ? await callH1(twin.h1, CHAT, { ...PROTO, "accept-encoding": encoding }, chat("big"))
          : await callH2(twin.h2, CHAT, { ...GRPC, "grpc-accept-encoding": encoding }, frame(chat("big")));
      expect(answer.headers[protocol === "Connect" ? "content-encoding" : "grpc-encoding"]).toBe(encoding);
      const body = Buffer.from(answer.body, "base64").subarray(protocol === "Connect" ? 0 : 5);
      expect(body.equals(again[encoding](body))).toBe(true);
    }
  });
});

describe("the lean path serves ChatStream exactly as connect-es", () => {
  it.each([
    ["Connect binary", "h1", CONNECT_STREAM, frame(chat("m1"))],
    ["Connect JSON", "h1", CONNECT_STREAM_JSON, frame(json("m1"))],
    ["Connect binary over HTTP/2", "h2", CONNECT_STREAM, frame(chat("m1"))],
    ["Connect, an empty request", "h1", CONNECT_STREAM, frame(new Uint8Array())],
    ["Connect, with a deadline", "h1", { ...CONNECT_STREAM, "connect-timeout-ms": "60000" }, frame(chat("m1"))],
    ["Connect, large messages the caller accepts gzipped", "h1", { ...CONNECT_STREAM, "connect-accept-encoding": "gzip" }, frame(chat("big"))],
    ["Connect, an error before any message", "h1", CONNECT_STREAM_JSON, frame(json("fail"))],
    ["Connect, an error after a message", "h1", CONNECT_STREAM, frame(chat("fail-later"))],
    ["Connect, a bug after a message", "h1", CONNECT_STREAM, frame(chat("bug"))],
    ["Connect, a deadline that passes mid-stream", "h1", { ...CONNECT_STREAM, "connect-timeout-ms": "30" }, frame(chat("wait"))],
    ["gRPC", "h2", GRPC, frame(chat("m1"))],
    ["gRPC with a deadline", "h2", { ...GRPC, "grpc-timeout": "60S" }, frame(chat("m1"))],
    ["gRPC, large messages the caller accepts gzipped", "h2", { ...GRPC, "grpc-accept-encoding": "gzip" }, frame(chat("big"))],
    ["gRPC, an error before any message", "h2", GRPC, frame(chat("fail"))],
    ["gRPC, an error after a message", "h2", GRPC, frame(chat("fail-later"))],
    ["gRPC, a bug after a message", "h2", GRPC, frame(chat("bug"))],
    ["gRPC, a deadline that passes mid-stream", "h2", { ...GRPC, "grpc-timeout": "30m" }, frame(chat("wait"))],
  ] as const)("%s takes the lean path", async (_, protocol, headers, body) => {
    const { path } = await same(protocol, STREAM, headers, body);
    expect(path).toBe("lean");
  });

  it.each([
    ["Connect with no envelope", "h1", CONNECT_STREAM, chat("m1")],
    ["Connect with two envelopes", "h1", CONNECT_STREAM, Buffer.concat([frame(chat("m1")), frame(chat("m2"))])],
    ["Connect flagged compressed without an encoding", "h1", CONNECT_STREAM, frame(chat("m1"), 1)],
    ["Connect that is not protobuf", "h1", CONNECT_STREAM, frame(Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07]))],
    ["Connect JSON with a duplicate key", "h1", CONNECT_STREAM_JSON, frame(new TextEncoder().encode('{"model":"a","\\u006dodel":"b"}'))],
    ["gRPC with two frames", "h2", GRPC, Buffer.concat([frame(chat("m1")), frame(chat("m2"))])],
  ] as const)("%s is declined after reading and answered by connect-es", async (_, protocol, headers, body) => {
    const { path } = await same(protocol, STREAM, headers, body);
    expect(path).toBeUndefined();
  });

  it.each([
    ["a gzipped Connect stream", "h1", { ...CONNECT_STREAM, "connect-content-encoding": "gzip" }, frame(gzipSync(chat("m1")), 1)],
    ["a unary content type on a streaming method", "h1", PROTO, chat("m1")],
    ["an invalid Connect deadline", "h1", { ...CONNECT_STREAM, "connect-timeout-ms": "soon" }, frame(chat("m1"))],
  ] as const)("%s is left to connect-es", async (_, protocol, headers, body) => {
    const { path } = await same(protocol, STREAM, headers, body);
    expect(path).not.toBe("lean");
  });

  it("a caller that reads slowly holds the stream back rather than filling the gateway's memory", async () => {
    flooded = 0;
    finished.length = 0;
    const req = http.request(`${twins.lean.h1}${STREAM}`, { method: "POST", headers: CONNECT_STREAM, agent: false });
    req.on("error", () => {});
    const answered = new Promise<http.IncomingMessage>((resolve) => req.on("response", resolve));
    req.end(frame(chat("flood")));
    const res = await answered;
    res.pause();
    // Once the socket's buffers are full, the stream waits for the caller: the count stops growing.
    let seen = -1;
    await vi.waitFor(
      () => {
        const now = flooded;
        const still = now === seen;
        seen = now;
        expect(still).toBe(true);
      },
      { interval: 200, timeout: 10_000 },
    );
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThan(1_000);
    req.destroy();
    await vi.waitFor(() => expect(finished).toEqual(["lean"]));
  });

  it.each(["h1", "h2"] as const)("a caller that goes away mid-stream ends the implementation, with the same reason (%s)", async (protocol) => {
    const reasons: string[] = [];
    for (const [base, tag] of [[twins.lean[protocol], "lean"], [twins.plain[protocol], "connect-es router"]] as const) {
      aborted.length = 0;
      served.length = 0;
      finished.length = 0;
      const headers = protocol === "h1" ? CONNECT_STREAM : GRPC;
      if (protocol === "h1") {
        const req = http.request(`${base}${STREAM}`, { method: "POST", headers, agent: false });
        req.on("error", () => {});
        req.on("response", (res) => res.once("data", () => req.destroy()));
        req.end(frame(chat("wait")));
      } else {
        const session = http2.connect(base);
        const stream = session.request({ ":method": "POST", ":path": STREAM, ...headers });
        stream.on("error", () => {});
        stream.once("data", () => stream.close(http2.constants.NGHTTP2_CANCEL));
        stream.end(frame(chat("wait")));
        await vi.waitFor(() => expect(finished).toEqual([tag]));
        session.close();
      }
      await vi.waitFor(() => expect(finished).toEqual([tag]));
      reasons.push(aborted[0]!);
    }
    expect(reasons[0]).toBe(reasons[1]);
    expect(reasons[0]).toMatch(protocol === "h1" ? /^Canceled: This operation was aborted$/ : /^Canceled: http\/2 stream closed with error code CANCEL/);
  });
});

describe("the lean path's signal fires as connect-es's does", () => {
  it.each([
    ["h1", CHAT, PROTO, chat("wait")],
    ["h2", CHAT, GRPC, frame(chat("wait"))],
    ["h1", STREAM, CONNECT_STREAM, frame(chat("wait"))],
  ] as const)("when the gateway shuts down (%s, %s): the call ends with the shutdown's reason", async (protocol, path, headers, body) => {
    const stops = [new AbortController(), new AbortController()];
    const twins = await Promise.all([startTwin(true, { service, interceptor: tagging, shutdownSignal: stops[0]!.signal }), startTwin(false, { service, interceptor: tagging, shutdownSignal: stops[1]!.signal })]);
    try {
      const call = protocol === "h1" ? callH1 : callH2;
      aborted.length = 0;
      served.length = 0;
      const answers = twins.map((t) => call(t[protocol], path, headers, body));
      await vi.waitFor(() => expect(served.length).toBe(2));
      for (const stop of stops) stop.abort(gatewayError(Code.Unavailable, "the gateway is shutting down", "SHUTTING_DOWN"));
      const [fromLean, fromConnect] = await Promise.all(answers);
      expect(fromLean).toEqual(fromConnect);
      expect(served.sort()).toEqual(["connect-es router", "lean"]);
      expect(aborted).toEqual(["Unavailable: the gateway is shutting down", "Unavailable: the gateway is shutting down"]);
    } finally {
      for (const t of twins) t.close();
    }
  });

  it.each(["h1", "h2"] as const)("when the caller goes away (%s)", async (protocol) => {
    const reasons: string[] = [];
    for (const base of [twins.lean[protocol], twins.plain[protocol]]) {
      aborted.length = 0;
      served.length = 0;
      if (protocol === "h1") {
        const req = http.request(`${base}${CHAT}`, { method: "POST", headers: PROTO, agent: false });
        req.on("error", () => {});
        req.end(chat("wait"));
        await vi.waitFor(() => expect(served.length).toBe(1));
        req.destroy();
      } else {
        const session = http2.connect(base);
        const stream = session.request({ ":method": "POST", ":path": CHAT, ...GRPC });
        stream.on("error", () => {});
        stream.end(frame(chat("wait")));
        await vi.waitFor(() => expect(served.length).toBe(1));
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await vi.waitFor(() => expect(aborted.length).toBe(1));
        session.close();
      }
      await vi.waitFor(() => expect(aborted.length).toBe(1));
      reasons.push(aborted[0]!);
    }
    expect(reasons[0]).toBe(reasons[1]);
    expect(reasons[0]).toMatch(protocol === "h1" ? /^Canceled: This operation was aborted$/ : /^Canceled: http\/2 stream closed with error code CANCEL/);
  });
});
