import type { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { validateChat, validateEmbed } from "../../src/api/validate.js";
import { chatRequestFromOpenAI } from "../../src/providers/openai/chat-request.js";
import { embeddingRequestFromOpenAI } from "../../src/providers/openai/embeddings.js";
import { toOpenAIError } from "../../src/providers/openai/errors.js";

/** The `error` body a caller of the OpenAI REST surface reads for what `check` throws. */
function openAIErrorOf(check: () => void): { message: string; param: string | null } {
  try {
    check();
  } catch (err) {
    return toOpenAIError(err as ConnectError).body.error as { message: string; param: string | null };
  }
  throw new Error("expected a refusal");
}

// Errors of the unified checks name fields as the caller's JSON holds them, in the message and in `param`.
describe("the OpenAI REST surface names the caller's fields, not the unified ones", () => {
  it("POST /v1/embeddings: an empty text is input[i], the call's texts are input", () => {
    const empty = openAIErrorOf(() => validateEmbed(embeddingRequestFromOpenAI({ model: "text-embedding-3-small", input: ["a", "b", "c", ""] }).request));
    expect(empty).toMatchObject({ message: "input[3]: must not be empty", param: "input[3]" });
    const none = openAIErrorOf(() => validateEmbed(embeddingRequestFromOpenAI({ model: "text-embedding-3-small", input: [] }).request));
    expect(none).toMatchObject({ message: "input: at least one input is required", param: "input" });
  });

  it("POST /v1/chat/completions: a tool's name is tools[i].function.name", () => {
    const tool = (name: string) => ({ type: "function", function: { name, parameters: { type: "object" } } });
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], tools: [tool("weather"), tool("weather"), tool("no spaces")] };
    const err = openAIErrorOf(() => validateChat(chatRequestFromOpenAI(body).request));
    expect(err.param).toBe("tools[1].function.name");
    expect(err.message).toBe(`tools[1].function.name: "weather" is declared twice; tools[2].function.name: must be 1-64 letters, digits, '_' or '-'`);
  });
});
