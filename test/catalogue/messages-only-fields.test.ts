// top_k and a tool result's is_error, read on /v1/messages, have a place in
// Anthropic's and Gemini's dialects only: for any other vendor they are
// dropped, and the answer's adjustments say so (audit L2).
import { describe, expect, it } from "vitest";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { messagesRequestFromAnthropic } from "../../src/providers/anthropic/messages-request.js";

const catalogue = Catalogue.shipped();
const { request } = messagesRequestFromAnthropic({
  model: "any",
  max_tokens: 100,
  top_k: 5,
  messages: [
    { role: "user", content: "look it up" },
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "down", is_error: true }] },
  ],
});

describe("top_k and is_error from /v1/messages", () => {
  it("are read beside the unified request", () => {
    expect(request.topK).toBe(5);
    expect(request.failedToolCalls).toEqual(["toolu_1"]);
  });

  it.each([
    ["anthropic", "claude-sonnet-4-5"],
    ["gemini", "gemini-2.5-flash"],
  ])("stay for the %s dialect", (dialect, model) => {
    const fitted = fitChatRequest(request, catalogue.lookup(dialect, model, dialect), "degrade", { model, dialect });
    expect(fitted.ok && [fitted.params.topK, fitted.params.failedToolCalls]).toEqual([5, ["toolu_1"]]);
    expect(fitted.ok && fitted.adjustments.filter((a) => a.parameter === "top_k" || a.parameter === "is_error")).toEqual([]);
  });

  it("are dropped, and said to be, for a vendor of another dialect", () => {
    const fitted = fitChatRequest(request, catalogue.lookup("openai", "gpt-4o", "openai"), "degrade", { model: "gpt-4o", dialect: "openai" });
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.params.topK).toBeUndefined();
    expect(fitted.adjustments).toEqual([
      expect.objectContaining({ parameter: "top_k", kind: AdjustmentKind.DROPPED, requested: "5" }),
      expect.objectContaining({ parameter: "is_error", kind: AdjustmentKind.DROPPED, requested: "toolu_1" }),
    ]);
  });

  it("refuse a top_k that is not a whole number from 1, naming it", () => {
    expect(() => messagesRequestFromAnthropic({ model: "any", max_tokens: 10, top_k: 0.5, messages: [{ role: "user", content: "x" }] })).toThrow(/top_k/);
  });
});
