// An enum name the gateway does not know, in a Connect JSON request, is refused
// as the same value as a number is (InvalidArgument, ErrorInfo, BadRequest naming
// the field), on the lean path and through connect-es alike; protobuf-es, told
// to ignore unknown fields, would otherwise drop it as "unset" without a word.
import { create, createFileRegistry, type DescMessage } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AIService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { holdsEnums, refuseUnknownEnumNames } from "../../src/server/json-enum-names.js";
import { twinPair, type Answer } from "../support/lean-twins.js";
import { frame } from "../support/raw-rpc.js";

/** Which path served each call (the twins' tags). */
const served: string[] = [];

/** Answers with what it saw of the call's enums: effort, cache control, response format, tool choice, roles. */
const service = (tag: string): ServiceImpl<typeof AIService> => ({
  async chat(req) {
    served.push(tag);
    return { model: seen(req) };
  },
  async *chatStream(req) {
    served.push(tag);
    yield { event: { case: "summary" as const, value: { model: seen(req) } } };
  },
  async embed(req) {
    return { model: req.model };
  },
  async listModels() {
    return {};
  },
});

function seen(req: { reasoning?: { effort: number }; cacheControl: number; responseFormat?: { type: number }; toolChoice?: { choice: { case?: string; value?: unknown } }; messages: { role: number }[] }): string {
  const mode = req.toolChoice?.choice.case === "mode" ? req.toolChoice.choice.value : "-";
  return `effort=${req.reasoning?.effort ?? "-"} cache=${req.cacheControl} format=${req.responseFormat?.type ?? "-"} mode=${mode} roles=${req.messages.map((m) => m.role).join(",")}`;
}

const { same } = twinPair(service, served);

const CHAT = "/switchboard.v1.AIService/Chat";
const STREAM = "/switchboard.v1.AIService/ChatStream";
const JSON_TYPE = { "content-type": "application/json" };
const body = (extra: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify({ model: "gpt-5", messages: [{ role: "ROLE_USER", content: "hi" }], ...extra }));

/** The Connect error of a unary answer, with its ErrorInfo reason and BadRequest fields. */
function refusal(answer: Answer): { code: string; message: string; reason: string | undefined; fields: string[] } {
  const bytes = Buffer.from(answer.body, "base64");
  const error = errorFromJsonBytes(answer.headers["content-encoding"] === "gzip" ? gunzipSync(bytes) : bytes, undefined, new ConnectError("no error"));
  return {
    code: error.code === Code.InvalidArgument ? "invalid_argument" : Code[error.code],
    message: error.rawMessage,
    reason: error.findDetails(ErrorInfoSchema)[0]?.reason,
    fields: error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)),
  };
}

describe("an unknown enum name in a Connect JSON request", () => {
  it.each([
    ["reasoning.effort", { reasoning: { effort: "REASONING_EFFORT_ULTRA" } }],
    ["cache_control", { cacheControl: "CACHE_CONTROL_NO_STORE_EVER" }],
    ["response_format.type", { responseFormat: { type: "RESPONSE_FORMAT_TYPE_XML" } }],
    ["tool_choice.mode", { toolChoice: { mode: "TOOL_CHOICE_MODE_SOMETIMES" } }],
    ["tool_choice.mode", { tool_choice: { mode: "TOOL_CHOICE_MODE_SOMETIMES" } }],
    ["messages[1].role", { messages: [{ role: "ROLE_USER", content: "hi" }, { role: "ROLE_WIZARD", content: "hi" }] }],
  ])("is refused on Chat, naming %s, on both paths alike", async (field, extra) => {
    const { answer, path } = await same("h1", CHAT, JSON_TYPE, body(extra));
    expect(path).toBeUndefined();
    expect(answer.status).toBe(400);
    const error = refusal(answer);
    expect(error).toMatchObject({ code: "invalid_argument", reason: "INVALID_ARGUMENT", fields: [field] });
    expect(error.message).toContain(`${field}: "`);
  });

  it("names every such field, and never repeats text that is no enum name", async () => {
    const { answer } = await same("h1", CHAT, JSON_TYPE, body({ reasoning: { effort: "sk-not-an-effort" }, cacheControl: "NOPE" }));
    const error = refusal(answer);
    expect(error.fields).toEqual(["cache_control", "reasoning.effort"]);
    expect(error.message).not.toContain("sk-not-an-effort");
    expect(error.message).toContain('"NOPE" is not a switchboard.v1.CacheControl');
  });

  it("is refused on Chat through connect-es (gRPC JSON, a gzipped Connect body)", async () => {
    const grpc = await same("h2", CHAT, { "content-type": "application/grpc+json" }, frame(body({ reasoning: { effort: "REASONING_EFFORT_ULTRA" } })));
    expect(grpc.answer.trailers["grpc-status"]).toBe("3");
    expect(grpc.text).toContain("reasoning.effort");
    const gzipped = await same("h1", CHAT, { ...JSON_TYPE, "content-encoding": "gzip" }, gzipSync(body({ reasoning: { effort: "REASONING_EFFORT_ULTRA" } })));
    expect(refusal(gzipped.answer)).toMatchObject({ code: "invalid_argument", fields: ["reasoning.effort"] });
    expect(served).toEqual([]);
  });

  it("is refused on ChatStream, on both paths alike", async () => {
    const { answer, text } = await same("h1", STREAM, { "content-type": "application/connect+json" }, frame(body({ reasoning: { effort: "REASONING_EFFORT_ULTRA" } })));
    expect(answer.status).toBe(200);
    expect(text).toContain('"code":"invalid_argument"');
    expect(text).toContain("reasoning.effort");
    expect(served).toEqual([]);
  });

  it("leaves known names, numbers and unknown fields as they were", async () => {
    const extra = {
      reasoning: { effort: "REASONING_EFFORT_HIGH" },
      cacheControl: 1,
      response_format: { type: "RESPONSE_FORMAT_TYPE_JSON_OBJECT", notAField: "RESPONSE_FORMAT_TYPE_XML" },
      toolChoice: { mode: 2 },
      notAField: { effort: "REASONING_EFFORT_ULTRA" },
    };
    const unary = await same("h1", CHAT, JSON_TYPE, body(extra));
    expect(unary.path).toBe("lean");
    expect(unary.text).toContain("effort=3 cache=1 format=2 mode=2 roles=2");
    const stream = await same("h1", STREAM, { "content-type": "application/connect+json" }, frame(body(extra)));
    expect(stream.path).toBe("lean");
    expect(stream.text).toContain("effort=3 cache=1 format=2 mode=2 roles=2");
    const gzipped = await same("h1", CHAT, { ...JSON_TYPE, "content-encoding": "gzip" }, gzipSync(body(extra)));
    expect(gzipped.path).toBe("lean router");
    expect(gzipped.text).toContain("effort=3 cache=1 format=2 mode=2 roles=2");
  });
});

/** A message that nests itself and holds an enum singly, in a list, in a map's values and in a oneof. */
const NODE: DescMessage = (() => {
  const { ENUM, MESSAGE, STRING } = FieldDescriptorProto_Type;
  const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, label: FieldDescriptorProto_Label, typeName?: string, oneofIndex?: number) => ({
    name,
    number,
    type,
    label,
    typeName,
    oneofIndex,
    jsonName: name.replace(/_(.)/g, (_, c: string) => c.toUpperCase()),
  });
  const file = create(FileDescriptorProtoSchema, {
    name: "t/node.proto",
    package: "t",
    syntax: "proto3",
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }] }],
    messageType: [
      {
        name: "Node",
        field: [
          field("color", 1, ENUM, OPTIONAL, ".t.Color"),
          field("other_colors", 2, ENUM, REPEATED, ".t.Color"),
          field("by_name", 3, MESSAGE, REPEATED, ".t.Node.ByNameEntry"),
          field("child", 4, MESSAGE, OPTIONAL, ".t.Node"),
          field("picked", 5, ENUM, OPTIONAL, ".t.Color", 0),
          field("label", 6, STRING, OPTIONAL, undefined, 0),
        ],
        oneofDecl: [{ name: "choice" }],
        nestedType: [{ name: "ByNameEntry", field: [field("key", 1, STRING, OPTIONAL), field("value", 2, ENUM, OPTIONAL, ".t.Color")], options: { mapEntry: true } }],
      },
      { name: "Plain", field: [field("name", 1, STRING, OPTIONAL), field("nested", 2, MESSAGE, OPTIONAL, ".t.Plain")] },
    ],
  });
  return createFileRegistry(file, () => undefined).getMessage("t.Node")!;
})();

function violations(desc: DescMessage, json: unknown): string[] {
  try {
    refuseUnknownEnumNames(desc, json);
    return [];
  } catch (err) {
    return ConnectError.from(err).findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  }
}

describe("the walk over a message's enums", () => {
  it("finds unknown names singly, in lists, in map values, in oneofs and in messages nested in themselves, by either key", () => {
    const json = {
      color: "COLOR_BLUE",
      otherColors: ["COLOR_RED", "COLOR_GREEN", 7],
      by_name: { a: "COLOR_RED", b: "COLOR_PINK" },
      child: { child: { picked: "COLOR_TEAL" }, color: null },
    };
    expect(violations(NODE, json)).toEqual(["color", "other_colors[1]", 'by_name["b"]', "child.child.picked"]);
  });

  it("passes known names, numbers, nulls and values of other types (protobuf-es's to refuse)", () => {
    expect(violations(NODE, { color: "COLOR_RED", otherColors: [1, "COLOR_UNSPECIFIED"], byName: { a: 1 }, child: "not an object", picked: 5 })).toEqual([]);
    expect(violations(NODE, "not an object")).toEqual([]);
  });

  it("knows which messages hold no enum at all (their bodies are not walked)", () => {
    expect(holdsEnums(NODE)).toBe(true);
    expect(holdsEnums(NODE.file.messages.find((m) => m.name === "Plain")!)).toBe(false);
    expect(holdsEnums(ChatRequestSchema)).toBe(true);
  });
});
