// A Connect, gRPC or gRPC-Web request refused before any interceptor ran (a unary body that is not
// JSON or not protobuf, one over the size bound, a bad deadline or encoding header, a content type
// the method does not take) got no log line, no switchboard_requests_total count, no span and no
// x-request-id: connect-es (and the lean path, as it) decodes a unary request before the
// interceptors, and the request interceptor records every call (observability audit, finding 4).
// Such calls are now recorded where they are refused, once, and answered with x-request-id; the
// lean path and connect-es still answer them alike.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { gatewayError } from "../../src/common/gateway-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { LogCapture, startGateway, type TestGateway } from "../support/gateway.js";
import { callH1, callH2, startTwin, tagging, type Answer, type Twin } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

const CHAT = "/switchboard.v1.AIService/Chat";
const PROTO = { "content-type": "application/proto" };
const JSON_TYPE = { "content-type": "application/json" };
const GRPC = { "content-type": "application/grpc" };
const GRPC_WEB = { "content-type": "application/grpc-web+proto" };
const NOT_PROTOBUF = Uint8Array.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x07]);
const chat = (model: string) => toBinary(ChatRequestSchema, create(ChatRequestSchema, { model, messages: [{ content: "hi" }] }));
const text = (body: string) => new TextEncoder().encode(body);
const tooBig = () => new Uint8Array(8 * 1024 * 1024 + 10);

/** Whether an answer carries `x-request-id: id`, wherever its protocol puts an error's metadata (headers, trailers, a gRPC-Web trailer frame). */
function carries(answer: Answer, id: string): boolean {
  return answer.headers["x-request-id"] === id || answer.trailers["x-request-id"] === id || Buffer.from(answer.body, "base64").toString("latin1").includes(`x-request-id: ${id}`);
}

function service(): ServiceImpl<typeof AIService> {
  return {
    async chat(req) {
      if (req.model === "fail") throw gatewayError(Code.ResourceExhausted, "too many calls", "RATE_LIMITED");
      return { model: req.model };
    },
    async *chatStream() {},
    async embed(req) {
      return { model: req.model };
    },
    async listModels() {
      return {};
    },
  };
}

describe("a call refused before the interceptors, on the lean path and through connect-es alike", () => {
  const logs = { lean: new LogCapture(), plain: new LogCapture() };
  let lean: Twin;
  let plain: Twin;
  beforeAll(async () => {
    [lean, plain] = await Promise.all([
      startTwin(true, { service, interceptor: tagging, callLog: createLogger("info", logs.lean) }),
      startTwin(false, { service, interceptor: tagging, callLog: createLogger("info", logs.plain) }),
    ]);
  });
  afterAll(() => {
    lean?.close();
    plain?.close();
  });

  let calls = 0;
  it.each([
    ["Connect JSON that is not JSON", "h1", JSON_TYPE, text("{not json"), "invalid_argument"],
    ["Connect JSON with a field of the wrong type", "h1", JSON_TYPE, text('{"model":7}'), "invalid_argument"],
    ["Connect binary that is not protobuf", "h1", PROTO, NOT_PROTOBUF, "invalid_argument"],
    ["a Connect body over the size bound", "h1", PROTO, tooBig(), "resource_exhausted"],
    ["Connect JSON whose error, quoting a long duplicate key, is answered gzipped", "h1", { ...JSON_TYPE, "accept-encoding": "gzip" }, text(`{"${"k".repeat(2_000)}":1,"${"k".repeat(2_000)}":2}`), "invalid_argument"],
    ["an unknown Connect encoding", "h1", { ...PROTO, "content-encoding": "zstd" }, chat("m1"), "unimplemented"],
    ["a content type the method does not take", "h1", { "content-type": "text/plain" }, chat("m1"), "invalid_argument"],
    ["gRPC that is not protobuf", "h2", GRPC, frame(NOT_PROTOBUF), "invalid_argument"],
    ["gRPC with a truncated frame", "h2", GRPC, frame(chat("m1")).subarray(0, 8), "invalid_argument"],
    ["a gRPC body over the size bound", "h2", GRPC, frame(tooBig()), "resource_exhausted"],
    ["an invalid gRPC deadline", "h2", { ...GRPC, "grpc-timeout": "1 second" }, frame(chat("m1")), "invalid_argument"],
    ["gRPC-Web that is not protobuf", "h2", GRPC_WEB, frame(NOT_PROTOBUF), "invalid_argument"],
    // The error quotes the lone surrogate, which no gRPC trailer can carry: answered in place of the error connect-es failed to write.
    ["gRPC JSON whose error would quote an unpaired surrogate", "h2", { "content-type": "application/grpc+json" }, frame(text('{"model":"m1","maxTokens":"\\ud800"}')), "invalid_argument"],
  ] as const)("%s: one call line, counted, and x-request-id in the answer", async (_, protocol, headers, body, status) => {
    const id = `refused-${++calls}`;
    const call = protocol === "h1" ? callH1 : callH2;
    const fromLean = await call(lean[protocol], CHAT, { ...headers, "x-request-id": id }, body);
    const fromConnect = await call(plain[protocol], CHAT, { ...headers, "x-request-id": id }, body);
    expect(fromLean).toEqual(fromConnect);
    expect(carries(fromLean, id)).toBe(true);
    for (const log of [logs.lean, logs.plain]) {
      const lines = log.entries.filter((line) => line.requestId === id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg: "call failed", level: "warn", method: "switchboard.v1.AIService/Chat", status });
    }
  });

  it.each([
    ["a plain call", "h1", JSON_TYPE, text('{"model":"m1"}'), "ok"],
    ["a call the service fails", "h1", JSON_TYPE, text('{"model":"fail"}'), "resource_exhausted"],
    ["a gzipped gRPC call (the lean path hands it to connect-es)", "h2", { ...GRPC, "grpc-encoding": "gzip" }, frame(gzipSync(chat("m1")), 1), "ok"],
    ["a gzipped gRPC call the service fails (the lean path hands it to connect-es)", "h2", { ...GRPC, "grpc-encoding": "gzip" }, frame(gzipSync(chat("fail")), 1), "resource_exhausted"],
    ["a gRPC call", "h2", GRPC, frame(chat("m1")), "ok"],
    ["a gRPC call the service fails", "h2", GRPC, frame(chat("fail")), "resource_exhausted"],
  ] as const)("%s, which reaches the interceptors, still has one line", async (_, protocol, headers, body, status) => {
    const id = `reached-${++calls}`;
    const call = protocol === "h1" ? callH1 : callH2;
    const fromLean = await call(lean[protocol], CHAT, { ...headers, "x-request-id": id }, body);
    const fromConnect = await call(plain[protocol], CHAT, { ...headers, "x-request-id": id }, body);
    expect(fromLean).toEqual(fromConnect);
    expect(carries(fromLean, id)).toBe(true);
    for (const log of [logs.lean, logs.plain]) {
      expect(log.entries.filter((line) => line.requestId === id).map((line) => line.status)).toEqual([status]);
    }
  });
});

describe("a malformed RPC with no key, at the gateway", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const requests = async (surface: string, method: string, code: string) =>
    (await gw.app.metrics.requests.get()).values.find((sample) => sample.labels.surface === surface && sample.labels.method === method && sample.labels.code === code)?.value ?? 0;

  it("bad JSON to Chat (the lean path) and to ListModels (connect-es): logged, counted, x-request-id; the log line quotes none of it", async () => {
    for (const method of ["Chat", "ListModels"]) {
      const path = `/switchboard.v1.AIService/${method}`;
      const answer = await callH1(gw.url, path, JSON_TYPE, text("PATIENT John Doe, diagnosis: …"));
      expect(answer.status).toBe(400);
      // The caller is shown where its text went wrong (JSON.parse quotes it); its own text, to it alone.
      expect(Buffer.from(answer.body, "base64").toString()).toContain("PATIENT Jo");
      const id = answer.headers["x-request-id"];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const lines = gw.logs.entries.filter((line) => line.requestId === id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg: "call failed", surface: "connect", method: `switchboard.v1.AIService/${method}`, status: "invalid_argument" });
      expect(lines[0]!.error).toMatch(/^cannot decode message switchboard\.v1\.\w+ from JSON: the body is not valid JSON \(the request's text is in the caller's answer only\)$/);
      expect(gw.logs.text).not.toContain("PATIENT");
      expect(await requests("connect", `switchboard.v1.AIService/${method}`, "invalid_argument")).toBe(1);
    }
  });

  it("protobuf that is not protobuf over gRPC (the audit's five 0xff bytes): logged, counted, x-request-id in the trailers", async () => {
    const answer = await callH2(gw.url, CHAT, { ...GRPC, "x-request-id": "bad-protobuf-1" }, Uint8Array.from([0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(answer.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(answer.trailers["x-request-id"]).toBe("bad-protobuf-1");
    expect(gw.logs.entries.filter((line) => line.requestId === "bad-protobuf-1")).toMatchObject([{ surface: "grpc", status: "invalid_argument" }]);
    expect(await requests("grpc", "switchboard.v1.AIService/Chat", "invalid_argument")).toBe(1);
  });

  it("masks a key the error quotes in the call line", async () => {
    const key = "sk-proj-ABCDEFabcdef0123456789ABCDEFabcdef0123";
    const answer = await callH1(gw.url, CHAT, { ...JSON_TYPE, "x-request-id": "pasted-key" }, text(`{"model": ${key}}`));
    expect(answer.status).toBe(400);
    const [line] = gw.logs.lines.filter((raw) => raw.includes('"requestId":"pasted-key"'));
    expect(line).toBeDefined();
    expect(line).not.toContain(key);
  });
});
