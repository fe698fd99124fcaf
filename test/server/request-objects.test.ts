import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { JsonObject } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AIService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES } from "../../src/common/request-objects.js";
import { twinPair, type Answer } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

// A request body that would make its decoder build more objects than any call
// needs (8 MiB of empty messages held the event loop for seconds) is refused
// before it is decoded, on every protocol, on the lean path and connect-es's
// alike: InvalidArgument with ErrorInfo, and the service never called.

const served: string[] = [];

function service(tag: string): ServiceImpl<typeof AIService> {
  return {
    async chat(req) {
      served.push(tag);
      return { model: `served ${req.messages.length} messages, ${req.tools.length} tools` };
    },
    async *chatStream(req) {
      served.push(tag);
      yield { event: { case: "delta", value: { content: `served ${req.messages.length}` } } };
    },
    async embed() {
      return {};
    },
    async listModels() {
      return {};
    },
  };
}

const { same } = twinPair(service, served);

const CHAT = "/switchboard.v1.AIService/Chat";
const STREAM = "/switchboard.v1.AIService/ChatStream";
const HOSTILE = MAX_REQUEST_OBJECTS + 50_000;

/** `model` and `count` empty messages, as the audit's body (0x12 0x00 repeated); `tail` after them. */
function emptyMessages(count: number, tail: Uint8Array = new Uint8Array()): Uint8Array {
  const head = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "m" }));
  const messages = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) messages[i * 2] = 0x12;
  return Buffer.concat([head, messages, tail]);
}

const emptyMessagesJson = (count: number) => Buffer.from(`{"model":"m","messages":[${"{},".repeat(count - 1)}{}]}`);

/** A Chat request whose vendor options hold one list of `count` numbers (a Value message each in binary). */
function structList(count: number): Uint8Array {
  const request = create(ChatRequestSchema, { model: "m", vendorOptions: { list: Array.from({ length: count }, () => 1) } as JsonObject });
  return toBinary(ChatRequestSchema, request);
}

/** The ErrorInfo reasons an answer carries: in a Connect error's JSON (unary body, or a stream's end frame), or gRPC's status details. */
function reasons(answer: Answer): string[] {
  const body = Buffer.from(answer.body, "base64");
  // gRPC-Web's trailers are the body's last frame, as header lines.
  const webTrailers = body[0] === 0x80 ? Object.fromEntries(body.subarray(5).toString().trim().split("\r\n").map((line) => line.split(": ", 2) as [string, string])) : {};
  const trailers = { ...answer.headers, ...answer.trailers, ...webTrailers };
  if (typeof trailers["grpc-status"] === "string") {
    const error = findTrailerError(new Headers(Object.entries(trailers).filter(([name]) => name.startsWith("grpc-")) as [string, string][]));
    return error?.findDetails(ErrorInfoSchema).map((info) => info.reason) ?? [];
  }
  // A stream's end frame follows its 5-byte prefix.
  const json = JSON.parse((body[0] === 0x02 ? body.subarray(5) : body).toString()) as { error?: ConnectJsonError } & ConnectJsonError;
  const error = json.error ?? json;
  return (error.details ?? []).filter((d) => d.type === "google.rpc.ErrorInfo").map((d) => fromBinary(ErrorInfoSchema, Buffer.from(d.value, "base64")).reason);
}

interface ConnectJsonError {
  code?: string;
  details?: { type: string; value: string }[];
}

const PROTO = { "content-type": "application/proto" };
const GRPC = { "content-type": "application/grpc" };

describe("a request body holding more objects than a call may", () => {
  it.each([
    ["Connect binary (lean)", "h1", PROTO, emptyMessages(HOSTILE)],
    ["gRPC (lean)", "h2", GRPC, frame(emptyMessages(HOSTILE))],
    ["Connect JSON (lean)", "h1", { "content-type": "application/json" }, emptyMessagesJson(HOSTILE)],
    ["gzipped Connect binary (connect-es)", "h1", { ...PROTO, "content-encoding": "gzip" }, gzipSync(emptyMessages(HOSTILE))],
    ["gzipped gRPC (connect-es)", "h2", { ...GRPC, "grpc-encoding": "gzip" }, frame(gzipSync(emptyMessages(HOSTILE)), 1)],
    ["gRPC-Web binary (connect-es)", "h1", { "content-type": "application/grpc-web+proto" }, frame(emptyMessages(HOSTILE))],
    ["gRPC JSON (connect-es)", "h2", { "content-type": "application/grpc+json" }, frame(emptyMessagesJson(HOSTILE))],
    ["a binary Struct of many values (lean)", "h1", PROTO, structList(HOSTILE)],
  ] as const)("%s: is refused with InvalidArgument before it is decoded", async (_, protocol, headers, body) => {
    const { answer, text } = await same(protocol, CHAT, headers, body);
    expect(served).toEqual([]);
    expect(headers["content-type"].includes("grpc-web") ? decodeURIComponent(text) : text).toContain(`holds more than ${MAX_REQUEST_OBJECTS} objects`);
    if (protocol === "h2") expect(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]).toBe("3");
    else if (!headers["content-type"].includes("grpc")) expect(answer.status).toBe(400);
    expect(reasons(answer)).toEqual(["INVALID_ARGUMENT"]);
  });

  it("is refused before protobuf-es reads a byte of it: a malformed tail after the bound is never reached", async () => {
    const body = emptyMessages(HOSTILE, Buffer.from([0x12, 0x7f]));
    const { text } = await same("h2", CHAT, GRPC, frame(body));
    expect(text).toContain(`holds more than ${MAX_REQUEST_OBJECTS} objects`);
    expect(text).not.toContain("premature EOF");
  });

  it("is refused on a stream (ChatStream over Connect, lean)", async () => {
    const { answer, text } = await same("h1", STREAM, { "content-type": "application/connect+proto" }, frame(emptyMessages(HOSTILE)));
    expect(served).toEqual([]);
    expect(text).toContain(`holds more than ${MAX_REQUEST_OBJECTS} objects`);
    expect(reasons(answer)).toEqual(["INVALID_ARGUMENT"]);
  });

  it("in JSON values (a Struct's list of numbers) is refused past the values bound", async () => {
    const body = Buffer.from(`{"model":"m","vendorOptions":{"list":[${"1,".repeat(MAX_REQUEST_VALUES)}1]}}`);
    const { answer, text } = await same("h1", CHAT, { "content-type": "application/json" }, body);
    expect(served).toEqual([]);
    expect(text).toContain(`holds more than ${MAX_REQUEST_VALUES} values`);
    expect(reasons(answer)).toEqual(["INVALID_ARGUMENT"]);
  });
});

/** The largest calls the services take: 10,000 messages with 50,000 parts, and 512 tools with real schemas. */
function largestCall(): Uint8Array {
  const schema = {
    type: "object",
    properties: {
      path: { type: "string", description: "The file to read" },
      offset: { type: "integer", minimum: 0 },
      limit: { type: "integer", minimum: 1 },
      mode: { type: "string", enum: ["text", "binary", "lines"] },
      options: { type: "object", properties: { follow: { type: "boolean" }, encoding: { type: "string" } } },
    },
    required: ["path"],
    additionalProperties: false,
  };
  return toBinary(
    ChatRequestSchema,
    create(ChatRequestSchema, {
      model: "m",
      messages: Array.from({ length: 10_000 }, (_, i) => ({ parts: Array.from({ length: 5 }, (_, j) => ({ part: { case: "text" as const, value: `part ${i}.${j}` } })) })),
      tools: Array.from({ length: 512 }, (_, i) => ({ name: `tool_${i}`, description: "Reads a file", parameters: schema })),
    }),
  );
}

describe("the largest calls the services take", () => {
  const binary = largestCall();
  const json = Buffer.from(JSON.stringify({ model: "m", ...asJson(binary) }));
  it.each([
    ["Connect binary", "h1", PROTO, binary],
    ["gRPC", "h2", GRPC, frame(binary)],
    ["gzipped Connect binary (connect-es)", "h1", { ...PROTO, "content-encoding": "gzip" }, gzipSync(binary)],
    ["gRPC-Web binary (connect-es)", "h1", { "content-type": "application/grpc-web+proto" }, frame(binary)],
    ["Connect JSON", "h1", { "content-type": "application/json" }, json],
  ] as const)("%s: are served", async (_, protocol, headers, body) => {
    const { text } = await same(protocol, CHAT, headers, body);
    expect(text).toContain("served 10000 messages, 512 tools");
  });
});

/** The call as Connect JSON. */
function asJson(binary: Uint8Array): object {
  const request = fromBinary(ChatRequestSchema, binary);
  return { messages: request.messages.map((m) => ({ parts: m.parts.map((p) => ({ text: p.part.value })) })), tools: request.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })) };
}
