// A JSON schema the model cannot take is given to it in a system message put
// in front of the caller's (request-fitting.ts): errors that name messages[i]
// still name the caller's message (audit L5: ERNIE v1 said messages[5] of a
// five-message request).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ResponseFormatType, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createQianfanV1Codec } from "../../src/providers/qianfan-v1/codec.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";

const catalogue = Catalogue.shipped();
const codec = createQianfanV1Codec({ provider: "qianfan" });
const MODEL = "ernie-4.0-8k";

/** Four messages, the last a second tool result to one call, which ERNIE refuses: messages[3]. */
const messages = [
  { role: Role.USER, content: "weather in Oslo?" },
  { role: Role.ASSISTANT, toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Oslo"}' }] },
  { role: Role.TOOL, toolCallId: "call_1", content: "sunny" },
  { role: Role.TOOL, toolCallId: "call_1", content: "warm" },
];

function refusal(schema: boolean): string {
  const request = create(ChatRequestSchema, {
    model: MODEL,
    messages,
    responseFormat: schema ? { type: ResponseFormatType.JSON_SCHEMA, schema: { type: "object" } } : undefined,
  });
  const fitted = fitChatRequest(request, catalogue.lookup("qianfan", MODEL, codec.dialect), "degrade", { model: MODEL, dialect: codec.dialect });
  if (!fitted.ok) throw new Error(fitted.reason);
  try {
    codec.chatRequest(fitted.params, MODEL, false, fitted.traits);
  } catch (err) {
    if (err instanceof UpstreamError) return err.message;
    throw err;
  }
  throw new Error("the codec took the conversation");
}

describe("ERNIE v1's conversation errors", () => {
  it("name the caller's message when a JSON schema was put in a system message in front", () => {
    expect(refusal(true)).toContain("messages[3] is a second tool result in a row");
  });

  it("say the same without one", () => {
    expect(refusal(false)).toContain("messages[3] is a second tool result in a row");
  });

  it("count what the gateway put in front, and only that", () => {
    const request = create(ChatRequestSchema, { model: MODEL, messages, responseFormat: { type: ResponseFormatType.JSON_SCHEMA, schema: { type: "object" } } });
    const fitted = fitChatRequest(request, catalogue.lookup("qianfan", MODEL, codec.dialect), "degrade", { model: MODEL, dialect: codec.dialect });
    expect(fitted.ok && fitted.params.insertedMessages).toBe(1);
    expect(fitted.ok && fitted.params.messages[0]!.role).toBe(Role.SYSTEM);
  });
});
