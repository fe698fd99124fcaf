// A request frame's flags are 0, or 1 when its message is compressed. connect-es
// read any other flags as a plain message: a gRPC frame with reserved bits
// (0x80) was served, and so was a Connect stream that began with an end-stream
// frame (0x02), which only a server sends (protocol audit L4).
import * as http from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, ChatStreamRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { connectStream, frame, grpcWeb } from "../support/raw-rpc.js";
import { concat } from "../support/wire.js";

const world = rawRpcWorld();
const auth = { authorization: `Bearer ${MASTER_KEY}` };
const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";
const messages = [{ role: Role.USER, content: "hi" }];
const hello = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "gpt-4o-mini", messages }));
const helloStream = toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { model: "gpt-4o-mini", messages }));

describe("a request frame with flags its protocol does not allow → InvalidArgument with ErrorInfo", () => {
  it.each([
    ["0x80", 0x80],
    ["0x02", 0x02],
    ["0x40", 0x40],
  ])("gRPC: flags %s", async (_, flags) => {
    const answer = await world.grpc.call(CHAT, frame(hello, flags), { ...auth, "content-type": "application/grpc" });
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.reason).toBe("INVALID_ARGUMENT");
    expect(answer.message).toContain(`flags 0x${flags.toString(16).padStart(2, "0")}`);
  });

  it("gRPC, server streaming: a frame with reserved bits", async () => {
    const answer = await world.grpc.call(CHAT_STREAM, frame(helloStream, 0x80), { ...auth, "content-type": "application/grpc" });
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.reason).toBe("INVALID_ARGUMENT");
  });

  it("gRPC-Web: a request frame flagged as trailers (0x80)", async () => {
    const answer = await grpcWeb(world.gw.url, CHAT, frame(hello, 0x80), { ...auth, "content-type": "application/grpc-web+proto" });
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.reason).toBe("INVALID_ARGUMENT");
  });

  it("Connect streaming: a client that begins with an end-stream frame (0x02)", async () => {
    const body = concat(frame(new TextEncoder().encode("{}"), 0x02), frame(helloStream));
    const answer = await connectStream(world.gw.url, CHAT_STREAM, body, { ...auth, "content-type": "application/connect+proto" });
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.reason).toBe("INVALID_ARGUMENT");
    expect(answer.message).toContain("flags 0x02");
  });

  it("frames with flags 0 are still served, a message that comes in many reads included", async () => {
    expect((await world.grpc.call(CHAT, frame(hello), { ...auth, "content-type": "application/grpc" })).code).toBe(0);
    const large = toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "x".repeat(100_000) }] }));
    const answer = await connectStream(world.gw.url, CHAT_STREAM, frame(large), { ...auth, "content-type": "application/connect+proto" });
    expect(answer.code).toBe(0);
  });
});

// A guard, not a regression: the refused frame returns the body, whose rest unread-body.ts drains.
describe("after a refused frame, the rest of the body is read and dropped", () => {
  it("Connect streaming over HTTP/1.1: a refused first frame before 200 KB more, then the next request on the connection is answered", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (path: string, type: string, body: Uint8Array | string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${world.gw.url}${path}`, { method: "POST", agent, headers: { ...auth, "content-type": type, "content-length": String(Buffer.byteLength(body)) }, timeout: 5_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("utf8") }));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer on the kept-alive connection to ${path}`)));
        req.on("error", reject);
        req.end(body);
      });
    const first = await send(CHAT_STREAM, "application/connect+proto", concat(frame(helloStream, 0x02), frame(new Uint8Array(200_000))));
    expect(first.body).toContain("flags 0x02");
    const next = await send(CHAT, "application/json", JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "next" }] }));
    expect(next.status).toBe(200);
    agent.destroy();
  });
});
