// A call whose key the RPC key gate admitted, then refused before any interceptor ran (a body that
// does not decode or is too large, a content type or HTTP method the method does not take), was
// recorded as if no key had authenticated it: its line had no keyId, was throttled with anonymous
// floods of the same reason (10 keyless bad bodies a minute hid every keyed caller's), and its span
// started a trace of the gateway's own instead of continuing the caller's (hostile-use audit 7,
// finding 2). Such a refusal now carries the admitted principal; one before any key check does not.
import { createServer, type Server } from "node:http";
import { connect as connectH2, constants } from "node:http2";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { KEYLESS_CALL_LINES_PER_MINUTE, keylessCallLines } from "../../src/api/envelope/keyless-call-lines.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { callH1, callH2 } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

const CHAT = "/switchboard.v1.AIService/Chat";
const LIST_MODELS = "/switchboard.v1.AIService/ListModels";
const KEYED = { authorization: `Bearer ${MASTER_KEY}` };
const JSON_TYPE = { "content-type": "application/json" };
const GRPC = { "content-type": "application/grpc" };
const GRPC_WEB = { "content-type": "application/grpc-web+proto" };
const NOT_PROTOBUF = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]);
const BAD_JSON = new TextEncoder().encode('{"model":');
const chat = () => toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "m1", messages: [{ content: "hi" }] }));
const tooBig = () => new Uint8Array(8 * 1024 * 1024 + 10);
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** A GET, which Chat (a method with side effects) does not take. */
function getH1(base: string, path: string, headers: Record<string, string>): Promise<number> {
  return fetch(`${base}${path}`, { headers }).then(async (res) => (await res.arrayBuffer(), res.status));
}

describe("an RPC refused before the interceptors, its key admitted", () => {
  let otlp: Server;
  let gw: TestGateway;
  let clock = 0;
  beforeAll(async () => {
    // Tracing on, so that lines carry trace ids; what is exported is not read.
    otlp = createServer((req, res) => req.resume().on("end", () => res.end()));
    await new Promise<void>((resolve) => otlp.listen(0, "127.0.0.1", resolve));
    gw = await startGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as AddressInfo).port}` });
    // The keyless lines' minute on the test's clock, before the gateway's first call: it never ends here.
    keylessCallLines(gw.app.logger, () => clock);
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((resolve) => otlp?.close(resolve));
  });

  const linesOf = (requestId: string) => gw.logs.entries.filter((line) => line.requestId === requestId && line.msg === "call failed");

  it("writes every keyed bad body's line, with its keyId, after keyless ones used up the reason's lines", async () => {
    for (let i = 0; i < 2 * KEYLESS_CALL_LINES_PER_MINUTE; i++) {
      expect((await callH1(gw.url, CHAT, { ...JSON_TYPE, "x-request-id": `keyless-${i}` }, BAD_JSON)).status).toBe(400);
    }
    expect(gw.logs.entries.filter((line) => line.requestId?.startsWith("keyless-"))).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE);
    for (let i = 0; i < 2 * KEYLESS_CALL_LINES_PER_MINUTE; i++) {
      expect((await callH1(gw.url, CHAT, { ...JSON_TYPE, ...KEYED, "x-request-id": `keyed-bad-body-${i}` }, BAD_JSON)).status).toBe(400);
    }
    const keyed = gw.logs.entries.filter((line) => line.requestId?.startsWith("keyed-bad-body-"));
    expect(keyed).toHaveLength(2 * KEYLESS_CALL_LINES_PER_MINUTE);
    for (const line of keyed) expect(line).toMatchObject({ msg: "call failed", keyId: "master", status: "invalid_argument" });
  });

  let calls = 0;
  it.each([
    ["Connect JSON that does not parse (the lean path)", "h1", CHAT, JSON_TYPE, BAD_JSON, "invalid_argument"],
    ["Connect JSON that does not parse (connect-es)", "h1", LIST_MODELS, JSON_TYPE, BAD_JSON, "invalid_argument"],
    ["a Connect body over the size bound", "h1", CHAT, { "content-type": "application/proto" }, tooBig(), "resource_exhausted"],
    ["a Connect stream's content type to a unary method", "h1", CHAT, { "content-type": "application/connect+json" }, new TextEncoder().encode("x"), "invalid_argument"],
    ["gRPC that is not protobuf (the lean path)", "h2", CHAT, GRPC, frame(NOT_PROTOBUF), "invalid_argument"],
    ["a gRPC body over the size bound", "h2", CHAT, GRPC, frame(tooBig()), "resource_exhausted"],
    ["a gRPC content type no protocol takes", "h2", CHAT, { "content-type": "application/grpc+xml" }, frame(chat()), "invalid_argument"],
    ["gRPC-Web that is not protobuf", "h2", CHAT, GRPC_WEB, frame(NOT_PROTOBUF), "invalid_argument"],
  ] as const)("%s: its line names the key and continues the caller's trace", async (_, protocol, path, headers, body, status) => {
    const requestId = `keyed-refusal-${++calls}`;
    const callerTrace = hex(16);
    const traceparent = `00-${callerTrace}-${hex(8)}-01`;
    await (protocol === "h1" ? callH1 : callH2)(gw.url, path, { ...headers, ...KEYED, traceparent, "x-request-id": requestId }, body);
    expect(linesOf(requestId)).toEqual([expect.objectContaining({ keyId: "master", traceId: callerTrace, status })]);
  });

  it("a method the RPC does not take (GET to Chat): its line names the key", async () => {
    expect(await getH1(gw.url, CHAT, { ...KEYED, "x-request-id": "keyed-get" })).toBe(405);
    expect(linesOf("keyed-get")).toEqual([expect.objectContaining({ keyId: "master", status: "unimplemented" })]);
  });

  it("a keyed gRPC call its caller cancels while its body is still arriving (the lean path): its line names the key", async () => {
    const session = connectH2(gw.url);
    try {
      const stream = session.request({ ":method": "POST", ":path": CHAT, ...GRPC, ...KEYED, "x-request-id": "keyed-cancel" });
      stream.on("error", () => {});
      // A message announcing 100,000 bytes, of which a few arrive.
      stream.write(Buffer.concat([Buffer.from([0, 0, 1, 0x86, 0xa0, 0x0a]), Buffer.alloc(1_000)]));
      stream.close(constants.NGHTTP2_CANCEL);
      await expect.poll(() => linesOf("keyed-cancel")).toHaveLength(1);
      expect(linesOf("keyed-cancel")[0]).toMatchObject({ keyId: "master", status: "canceled" });
    } finally {
      session.destroy();
    }
  });

  it("a refusal no key was admitted for (none, or a wrong one) stays keyless, in a trace of the gateway's own", async () => {
    for (const [requestId, key] of [["no-key", {}], ["wrong-key", { authorization: "Bearer sk-sb-not-a-key-of-this-gateway-0123456789" }]] as const) {
      // A reason of its own, so that the keyless lines above leave it room.
      const callerTrace = hex(16);
      await callH1(gw.url, CHAT, { "content-type": "application/connect+json", ...key, traceparent: `00-${callerTrace}-${hex(8)}-01`, "x-request-id": requestId }, BAD_JSON);
      const [line] = linesOf(requestId);
      expect(line).toMatchObject({ status: "invalid_argument" });
      expect(line!.keyId).toBeUndefined();
      expect(line!.traceId).not.toBe(callerTrace);
    }
  });
});
