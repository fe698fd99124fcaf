// What the message threads count a thread at covers what it takes on the heap: with the count
// below the real figure, the 8 MiB a key and 64 MiB an instance would let threads hold many
// times their bound (a tool input of 90,000 `{}` is 270 KB of JSON and took 5.6 MB parsed).
import { describe, expect, it } from "vitest";
import { MessageThreads, THREAD_OVERHEAD_BYTES, type ThreadHistory } from "../../src/threads/message-threads.js";
import { settledHeap } from "../support/settled-heap.js";

/** Keeps `count` threads, each a fresh parse of `json` (as each call's body is); what they were counted at, and the heap they took. */
async function keepThreads(json: string, count: number): Promise<{ counted: number; grown: number }> {
  const threads = new MessageThreads({ maxBytesPerKey: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER });
  // The ids exist before the measure, as a call's id does before its answer is kept.
  const ids = Array.from({ length: count }, (_, i) => `msg_${i.toString(16).padStart(32, "0")}`);
  const before = await settledHeap();
  for (let i = 0; i < count; i++) threads.keep(ids[i]!, `key-${i % 64}`, JSON.parse(json) as ThreadHistory);
  const grown = (await settledHeap()) - before;
  expect(threads.size).toBe(count);
  return { counted: count * (Buffer.byteLength(json) + THREAD_OVERHEAD_BYTES), grown };
}

describe("a message thread's counted cost", () => {
  it("covers a conversation of many small JSON values, which parsed would take far more than their text", async () => {
    const input = { items: Array.from({ length: 20_000 }, () => ({})) };
    const history = { messages: [{ role: "user", content: "look" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input }] }] };
    const { counted, grown } = await keepThreads(JSON.stringify(history), 50);
    // About what they are counted at (their text); kept parsed, they took twenty times as much.
    expect(grown).toBeLessThan(2 * counted);
  });

  it("covers a small thread's entry, id and record as well as its text", async () => {
    const history = { messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "text", text: "Echo: a" }] }] };
    const { counted, grown } = await keepThreads(JSON.stringify(history), 20_000);
    // About 500 bytes a thread on Node 22; far less would mean the measure missed the threads.
    expect(grown / 20_000).toBeGreaterThan(200);
    expect(grown).toBeLessThan(counted);
  });
});
