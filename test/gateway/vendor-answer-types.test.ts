// A unary OpenAI-dialect answer whose fields have the wrong JSON type is the
// vendor's bad_response (failed over, never charged as an empty answer), as
// the stream decoder already has it; a field that is null or absent still
// takes its default.
import { describe, expect, it } from "vitest";
import { fromOpenAIChatCompletion } from "../../src/providers/openai/chat-completion.js";
import { isUpstreamError } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";

const ctx = { provider: "v", credential: createCredential("v/key", "sk-vendor-secret") };

function kindOf(answer: unknown): string {
  try {
    fromOpenAIChatCompletion(answer, ctx);
    return "ok";
  } catch (err) {
    return isUpstreamError(err) ? err.kind : String(err);
  }
}

describe("a unary OpenAI-dialect answer", () => {
  it.each([
    ["content that is a number", { choices: [{ message: { content: 5 } }] }],
    ["a message that is null", { choices: [{ message: null }] }],
    ["a message that is a string", { choices: [{ message: "hello" }] }],
    ["a tool call whose function is null", { choices: [{ message: { tool_calls: [{ id: "1", function: null }] } }] }],
    ["a tool call id that is a number", { choices: [{ message: { tool_calls: [{ id: 1, function: { name: "f", arguments: "{}" } }] } }] }],
    ["tool calls that are an object", { choices: [{ message: { content: "x", tool_calls: { id: "1" } } }] }],
    ["an id that is an object", { id: {}, choices: [{ message: { content: "x" } }] }],
  ])("with %s is bad_response", (_, answer) => {
    expect(kindOf(answer)).toBe("bad_response");
  });

  it("with null or absent fields reads them as empty", () => {
    const read = fromOpenAIChatCompletion({ id: null, choices: [{ message: { content: null, tool_calls: null, refusal: null } }] }, ctx);
    expect(read.message.content).toBe("");
    expect(read.message.toolCalls).toEqual([]);
    expect(fromOpenAIChatCompletion({ choices: [{ message: { content: "hi" } }] }, ctx).message.content).toBe("hi");
  });
});
