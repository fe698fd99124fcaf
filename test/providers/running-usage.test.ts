// A running usage (Gemini, DashScope, Qianfan repeat one on every chunk) told once, on the first delta after the
// vendor counted the prompt (src/providers/running-usage.ts); the codec tests show each vendor's.
import { describe, expect, it } from "vitest";
import type { ChatStreamEvent } from "../../src/providers/provider.js";
import { RunningUsage } from "../../src/providers/running-usage.js";
import { fromDashScopeUsage } from "../../src/providers/dashscope/wire.js";

const delta = (content: string): ChatStreamEvent => ({ type: "delta", content, toolCalls: [] });
const usageOf = (events: ChatStreamEvent[]) => events.map((event) => (event.type === "delta" ? event.usage?.promptTokens : "end"));

describe("RunningUsage", () => {
  it("waits for a delta and for a count of the prompt, then tells it once", () => {
    const running = new RunningUsage(fromDashScopeUsage);
    expect(usageOf(running.tell([], { input_tokens: 10, output_tokens: 0 }))).toEqual([]);
    expect(usageOf(running.tell([delta("a")], { input_tokens: 0, output_tokens: 1 }))).toEqual([undefined]);
    expect(usageOf(running.tell([delta("b")], undefined))).toEqual([undefined]);
    expect(usageOf(running.tell([delta("c"), delta("d")], { input_tokens: 10, output_tokens: 2 }))).toEqual([10, undefined]);
    expect(usageOf(running.tell([delta("e")], { input_tokens: 10, output_tokens: 3 }))).toEqual([undefined]);
  });

  it("does not tell counts that could not be true: the end reads them, and says the fault", () => {
    const running = new RunningUsage(fromDashScopeUsage);
    expect(usageOf(running.tell([delta("a")], { input_tokens: -5, output_tokens: 1 }))).toEqual([undefined]);
    expect(usageOf(running.tell([delta("b")], { input_tokens: 7, output_tokens: 2 }))).toEqual([7]);
  });
});
