import { create, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AIService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { twinPair } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

// Fields a binary request carries that its message does not have are dropped
// unread, on the lean path and connect-es's alike: each one kept was an object
// (8 MiB of them, sent with no key to health or reflection, built 440 MB and
// held the event loop for a second), and nothing in the gateway reads them.

const served: string[] = [];

function service(tag: string): ServiceImpl<typeof AIService> {
  return {
    async chat(req) {
      served.push(tag);
      return { model: req.$unknown === undefined ? "unknown fields dropped" : `${req.$unknown.length} unknown fields kept` };
    },
    async *chatStream() {},
    async embed() {
      return {};
    },
    async listModels() {
      return {};
    },
  };
}

const { same } = twinPair(service, served);

/** A Chat request followed by `count` varint fields of a number ChatRequest does not have (1000). */
function withUnknownFields(count: number): Uint8Array {
  const known = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "m", messages: [{ content: "hi" }] }));
  const unknown = Buffer.alloc(count * 3);
  for (let i = 0; i < count; i++) unknown.set([0xc0, 0x3e, 0x01], i * 3);
  return Buffer.concat([known, unknown]);
}

const CHAT = "/switchboard.v1.AIService/Chat";

describe("unknown fields in a binary request", () => {
  it.each([
    ["Connect binary, on the lean path", "h1", { "content-type": "application/proto" }, withUnknownFields(1_000), "lean"],
    ["gRPC, on the lean path", "h2", { "content-type": "application/grpc" }, frame(withUnknownFields(1_000)), "lean"],
    // The lean twin hands a compressed body to its connect-es router.
    ["gzipped Connect binary, by connect-es", "h1", { "content-type": "application/proto", "content-encoding": "gzip" }, gzipSync(withUnknownFields(1_000)), "lean router"],
  ] as const)("%s: are dropped unread", async (_, protocol, headers, body, path) => {
    const { text, path: took } = await same(protocol, CHAT, headers, body);
    expect(took).toBe(path);
    expect(text).toContain("unknown fields dropped");
  });
});
