// A length field the gateway does not read, refused on /v1/responses
// (responses audit, finding 6): the message names the field to send on that
// surface, max_output_tokens, not Chat Completions' max_tokens; the other
// surfaces keep their own name.
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { validateChat } from "../../src/api/validate.js";
import { responsesRequestFromOpenAI } from "../../src/providers/openai-responses/responses-request.js";
import { chatRequestFromOpenAI } from "../../src/providers/openai/chat-request.js";

function refusal(check: () => void): string {
  try {
    check();
  } catch (err) {
    return ConnectError.from(err).rawMessage;
  }
  throw new Error("not refused");
}

describe("a length field sent as the caller's own", () => {
  it("on /v1/responses, names max_output_tokens", () => {
    // `max_tokens: null` is what some SDK wrappers send: Chat Completions' name, let through unset, and refused as a length field.
    const parsed = responsesRequestFromOpenAI({ model: "gpt-4o-mini", input: "hi", max_output_tokens: 5, max_tokens: null });
    const message = refusal(() => validateChat({ ...parsed.request, messages: parsed.input }));
    expect(message).toContain("max_tokens: set max_output_tokens instead");
    expect(message).not.toContain("set max_tokens");
  });

  it("on /v1/chat/completions and the typed API, still names max_tokens", () => {
    const chat = chatRequestFromOpenAI({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_new_tokens: 5 });
    expect(refusal(() => validateChat(chat.request))).toContain("max_new_tokens: set max_tokens instead");
    const typed = create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [create(MessageSchema, { role: Role.USER, content: "hi" })], vendorOptions: { max_output_tokens: 5 } });
    expect(refusal(() => validateChat(typed))).toContain("vendor_options.max_output_tokens: set max_tokens instead");
  });
});
