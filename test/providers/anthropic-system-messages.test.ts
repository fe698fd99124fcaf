// System messages in the conversation, as the Anthropic codec sends them to
// a model fitted by the shipped catalogue: a run of them after a user turn
// is one system message, and a tool loop is read past one at the end. The
// catalogue alone decides which stay in place; the codec sends the leading
// ones as the top-level system prompt and the rest where they are.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import { messagesRequestFromAnthropic } from "../../src/providers/anthropic/messages-request.js";
import type { ChatParams } from "../../src/providers/provider.js";

const catalogue = Catalogue.shipped();
const codec = createAnthropicCodec({ provider: "anthropic" });

function sent(params: ChatParams, model: string): Record<string, any> {
  const fitted = fitChatRequest(params, catalogue.lookup("anthropic", model, codec.dialect), "degrade", { model, dialect: codec.dialect });
  if (!fitted.ok) throw new Error(fitted.reason);
  return codec.chatRequest(fitted.params, model, false, fitted.traits).body as Record<string, any>;
}

describe("system messages after a user turn, to Claude Opus 4.8", () => {
  it("go as one system message with a block each; an empty one is left out", () => {
    const params = create(ChatRequestSchema, {
      model: "claude-opus-4-8",
      messages: [
        { role: Role.USER, content: "hi" },
        { role: Role.SYSTEM, content: "Be brief." },
        { role: Role.SYSTEM, content: "" },
        { role: Role.SYSTEM, content: "Answer in French." },
      ],
    });
    expect(sent(params, "claude-opus-4-8").messages).toEqual([
      { role: "user", content: "hi" },
      { role: "system", content: [{ type: "text", text: "Be brief." }, { type: "text", text: "Answer in French." }] },
    ]);
  });

  it("do not hide a tool loop whose assistant turn has no thinking to send back: that request goes without thinking", () => {
    // The tool call came from another vendor (no signed thinking), the result and Claude Code's system message follow.
    const { request } = messagesRequestFromAnthropic({
      model: "claude-opus-4-8",
      max_tokens: 16_000,
      thinking: { type: "adaptive" },
      tools: [{ name: "lookup", input_schema: { type: "object" } }],
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
        { role: "system", content: "Answer in French." },
      ],
    });
    const body = sent(request, "claude-opus-4-8");
    expect(body.messages.at(-1)).toEqual({ role: "system", content: "Answer in French." });
    expect(body.thinking).toBeUndefined();
  });
});

describe("where system messages go: the catalogue decides, the codec sends the leading ones as the system prompt", () => {
  const laterSystem = create(ChatRequestSchema, {
    messages: [
      { role: Role.SYSTEM, content: "Be brief." },
      { role: Role.USER, content: "hi" },
      { role: Role.SYSTEM, content: "Answer in French." },
    ],
  });

  it("an older Claude model gets a later one in its top-level system prompt, after the first, as the codec used to put it", () => {
    const body = sent(laterSystem, "claude-sonnet-4-5");
    expect(body.system).toBe("Be brief.\n\nAnswer in French.");
    expect(body.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("a Claude model newer than the catalogue's rows gets it where it is, not as the older row it starts with says", () => {
    const body = sent(laterSystem, "claude-opus-4-9-20270101");
    expect(body.system).toBe("Be brief.");
    expect(body.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "system", content: "Answer in French." },
    ]);
  });

  it("the codec keeps a system message it is given in the conversation where it is, whatever the model", () => {
    const body = codec.chatRequest(laterSystem, "claude-sonnet-4-5", false).body as Record<string, any>;
    expect(body.system).toBe("Be brief.");
    expect(body.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "system", content: "Answer in French." },
    ]);
  });
});
