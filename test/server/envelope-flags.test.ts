// Envelope flags the protocols reserve were read past (transport audit 7): a gRPC
// message flagged 0x02 or 0x80 was decoded and served, and an end frame (0x02) in a
// Connect request stream was skipped. gRPC defines only the compressed flag (0x01);
// Connect's request streams "must always leave" end-of-stream unset. Each is refused
// with InvalidArgument and ErrorInfo, in the protocol the request came in; flags that
// are allowed are served as before.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { withEnvelopeFlagsChecked } from "../../src/server/envelope-flags.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { connectStream, frame, grpcWeb } from "../support/raw-rpc.js";

const world = rawRpcWorld();

const auth = { authorization: `Bearer ${MASTER_KEY}` };
const GRPC = { "content-type": "application/grpc", ...auth };
const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";
const chat = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }));
const chatJson = new TextEncoder().encode(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }));

describe("a gRPC request envelope", () => {
  it.each([[0x02], [0x80], [0x03]])("flagged %i is refused with INVALID_ARGUMENT, and the vendor is not called", async (flags) => {
    const before = world.fake.chatRequests().length;
    const answer = await world.grpc.call(CHAT, frame(chat, flags), GRPC);
    expect([answer.status, answer.code, answer.reason]).toEqual([200, Code.InvalidArgument, "INVALID_ARGUMENT"]);
    const hex = `0x${flags.toString(16).padStart(2, "0")}`;
    expect(answer.message).toBe(`envelope 1 of the request has flags ${hex}: a gRPC request may set only the compressed flag (0x01)`);
    expect(world.fake.chatRequests()).toHaveLength(before);
  });

  it("served by connect-es alone (ListModels), or flagged on its second message, is refused alike", async () => {
    const list = await world.grpc.call("/switchboard.v1.AIService/ListModels", frame(new Uint8Array(0), 0x80), GRPC);
    expect([list.code, list.reason]).toEqual([Code.InvalidArgument, "INVALID_ARGUMENT"]);
    const second = await world.grpc.call(CHAT, Buffer.concat([frame(chat), frame(chat, 0x40)]), GRPC);
    expect([second.code, second.message]).toEqual([Code.InvalidArgument, "envelope 2 of the request has flags 0x40: a gRPC request may set only the compressed flag (0x01)"]);
  });

  it("with no flag, or compressed in the encoding the call names, is served as before", async () => {
    expect((await world.grpc.call(CHAT, frame(chat), GRPC)).code).toBe(0);
    expect((await world.grpc.call(CHAT, frame(gzipSync(chat), 0x01), { ...GRPC, "grpc-encoding": "gzip" })).code).toBe(0);
  });
});

describe("a gRPC-Web request envelope", () => {
  it("flagged as trailers (0x80) is refused; a plain one is served", async () => {
    const headers = { "content-type": "application/grpc-web+proto", ...auth };
    const refused = await grpcWeb(world.gw.url, CHAT, frame(chat, 0x80), headers);
    expect([refused.status, refused.code, refused.reason]).toEqual([200, Code.InvalidArgument, "INVALID_ARGUMENT"]);
    expect(refused.message).toContain("0x80 marks an answer's trailers");
    expect((await grpcWeb(world.gw.url, CHAT, frame(chat), headers)).code).toBe(0);
  });
});

describe("a Connect request stream", () => {
  const headers = { "content-type": "application/connect+json", ...auth };

  it("with an end-of-stream envelope (0x02) after its message is refused with an end frame saying so", async () => {
    const answer = await connectStream(world.gw.url, CHAT_STREAM, Buffer.concat([frame(chatJson), frame(new TextEncoder().encode("{}"), 0x02)]), headers);
    expect([answer.status, answer.code, answer.reason]).toEqual([200, Code.InvalidArgument, "INVALID_ARGUMENT"]);
    expect(answer.message).toBe("envelope 2 of the request has flags 0x02: a Connect request stream may set only the compressed flag (0x01) (0x02 marks the end of an answer)");
  });

  it("with a reserved flag (0x80) on its message is refused; a plain one is served", async () => {
    const refused = await connectStream(world.gw.url, CHAT_STREAM, frame(chatJson, 0x80), headers);
    expect([refused.code, refused.reason]).toEqual([Code.InvalidArgument, "INVALID_ARGUMENT"]);
    expect((await connectStream(world.gw.url, CHAT_STREAM, frame(chatJson), headers)).code).toBe(0);
  });
});

describe("the envelope flags check (withEnvelopeFlagsChecked)", () => {
  /** What a handler behind the check reads of `chunks`: the bytes passed on, and the error that ended them. */
  async function read(chunks: Uint8Array[], type = "application/grpc"): Promise<{ bytes: number; error?: string }> {
    let bytes = 0;
    const handler = withEnvelopeFlagsChecked((async (req: UniversalServerRequest) => {
      try {
        for await (const chunk of req.body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
      } catch (err) {
        return { status: 200, error: (err as ConnectError).rawMessage };
      }
      return { status: 200 };
    }) as unknown as UniversalHandler);
    const res = (await handler({ httpVersion: "2.0", method: "POST", url: "http://localhost/x", header: new Headers({ "content-type": type }), body: createAsyncIterable(chunks), signal: new AbortController().signal })) as { error?: string };
    return { bytes, error: res.error };
  }

  // Three envelopes: empty, 300 bytes (a length past one byte), then one flagged 0x02.
  const body = Buffer.concat([frame(new Uint8Array(0)), frame(new Uint8Array(300).fill(0x80)), frame(new Uint8Array(3), 0x02)]);
  const cut = (at: number) => [body.subarray(0, at), body.subarray(at)];

  it("finds a flag wherever the body's chunks are cut, before passing on the chunk that holds it", async () => {
    for (let at = 1; at < body.length; at++) {
      const flagAt = 5 + 305;
      expect(await read(cut(at))).toEqual({ bytes: at <= flagAt ? at : 0, error: "envelope 3 of the request has flags 0x02: a gRPC request may set only the compressed flag (0x01)" });
    }
  });

  it("passes every byte of a body whose flags are allowed, and leaves unenveloped bodies alone", async () => {
    const allowed = Buffer.concat([frame(new Uint8Array(300).fill(0x02)), frame(new Uint8Array(7), 0x01)]);
    expect(await read([allowed.subarray(0, 3), allowed.subarray(3, 306), allowed.subarray(306)])).toEqual({ bytes: allowed.length, error: undefined });
    expect(await read([body], "application/json")).toEqual({ bytes: body.length, error: undefined });
    expect(await read([body], "application/grpc-web-text")).toEqual({ bytes: body.length, error: undefined });
  });
});
