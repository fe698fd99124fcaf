// A unary or server-streaming call whose body carries no message at all (not
// even the 5-byte envelope of an empty one) got connect-es's "protocol error:
// missing input message" under the bare reason UNIMPLEMENTED, which reads like
// a method the gateway lacks. gRPC's spec keeps the code (UNIMPLEMENTED, for a
// request cardinality violation); the error says the request had no message,
// under a reason of its own, on every path: the lean one (Chat, ChatStream)
// and connect-es's (ListModels, the AdminService). A Connect unary body is the
// message itself: an empty one is an empty message, and is served.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { connectStream, connectUnary, frame, grpcWeb, type RawAnswer } from "../support/raw-rpc.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { MASTER_KEY } from "../support/gateway.js";

const world = rawRpcWorld();
const auth = { authorization: `Bearer ${MASTER_KEY}` };
const nothing = new Uint8Array(0);

function expectMissingMessage(answer: RawAnswer, protocol: string, method: string): void {
  expect(answer.status).toBe(200);
  expect([answer.code, answer.reason]).toEqual([Code.Unimplemented, "MISSING_REQUEST_MESSAGE"]);
  expect(answer.message).toBe(`the request had no message: ${protocol} to switchboard.v1.${method} carries exactly one, in a length-prefixed envelope (an empty message is the 5 bytes 00 00 00 00 00)`);
}

describe("a call whose body carries no message", () => {
  it("gRPC (HTTP/2): unary and server-streaming, on the lean path and connect-es's, say the request had no message", async () => {
    for (const method of ["AIService/Chat", "AIService/ChatStream", "AIService/ListModels", "AdminService/ListKeys"]) {
      const answer = await world.grpc.call(`/switchboard.v1.${method}`, nothing, { "content-type": "application/grpc", ...auth });
      expectMissingMessage(answer, "a gRPC request", method);
    }
  });

  it("gRPC-Web and a Connect stream (HTTP/1.1) say the same in their protocols", async () => {
    for (const method of ["AIService/Chat", "AIService/ChatStream"]) {
      const answer = await grpcWeb(world.gw.url, `/switchboard.v1.${method}`, nothing, { "content-type": "application/grpc-web+proto", ...auth });
      expectMissingMessage(answer, "a gRPC-Web request", method);
    }
    const stream = await connectStream(world.gw.url, "/switchboard.v1.AIService/ChatStream", nothing, { "content-type": "application/connect+json", ...auth });
    expectMissingMessage(stream, "a Connect request stream", "AIService/ChatStream");
  });

  it("an empty message (an empty envelope; a Connect unary call's empty body) is served", async () => {
    const grpc = await world.grpc.call("/switchboard.v1.AIService/ListModels", frame(nothing), { "content-type": "application/grpc", ...auth });
    expect(grpc.code).toBe(0);
    const connect = await connectUnary(world.gw.url, "/switchboard.v1.AIService/ListModels", nothing, { "content-type": "application/proto", ...auth });
    expect([connect.status, connect.code]).toEqual([200, 0]);
    // An empty ChatRequest reaches validation: what it lacks is named.
    const chat = await connectUnary(world.gw.url, "/switchboard.v1.AIService/Chat", nothing, { "content-type": "application/proto", ...auth });
    expect([chat.code, chat.message]).toEqual([Code.InvalidArgument, expect.stringContaining("model: is required")]);
  });
});
