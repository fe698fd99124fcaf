// What a continuation sends of a stored conversation: each function call whose
// arguments the gateway would not take back as input (cut short, or nested past
// the bound) goes with `{}`; every other message is sent as it was stored.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MessageSchema, Role, ToolCallSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_JSON_DEPTH } from "../../src/common/json-nesting.js";
import { callArgumentsProblem, continuableConversation } from "../../src/providers/openai-responses/call-arguments.js";

const call = (id: string, args: string) => create(ToolCallSchema, { id, name: "lookup", arguments: args });
const deep = `{"a":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`;

describe("callArgumentsProblem", () => {
  it("takes a JSON object as text, or nothing", () => {
    expect(callArgumentsProblem('{"query": "x"}')).toBeUndefined();
    expect(callArgumentsProblem("  ")).toBeUndefined();
  });

  it("names what it does not take", () => {
    expect(callArgumentsProblem('{"query": "weath')).toBe("not_object");
    expect(callArgumentsProblem("[1]")).toBe("not_object");
    expect(callArgumentsProblem("null")).toBe("not_object");
    expect(callArgumentsProblem(deep)).toBe("too_deep");
  });
});

describe("continuableConversation", () => {
  it("gives {} to the calls it would not take back, and leaves the rest as stored", () => {
    const user = create(MessageSchema, { role: Role.USER, content: "weather" });
    const whole = create(MessageSchema, { role: Role.ASSISTANT, toolCalls: [call("a", '{"query":"Paris"}')] });
    const cut = create(MessageSchema, { role: Role.ASSISTANT, content: "Let me check.", toolCalls: [call("b", '{"query":"x'), call("c", deep), call("d", "")] });
    const stored = [user, whole, cut];
    const sent = continuableConversation(stored);
    expect(sent[0]).toBe(user);
    expect(sent[1]).toBe(whole);
    expect(sent[2]!.content).toBe("Let me check.");
    expect(sent[2]!.toolCalls.map((c) => [c.id, c.arguments])).toEqual([["b", "{}"], ["c", "{}"], ["d", ""]]);
    // The stored conversation is what input_items lists: untouched.
    expect(cut.toolCalls[0]!.arguments).toBe('{"query":"x');
  });
});
