import { describe, expect, it } from "vitest";
import type { StartTimer } from "../../src/gateway/timers.js";
import { on, setup, stream, streamed } from "./sim-dispatch.js";

/** The dispatcher's timers, counted: how many were started, stopped and re-armed. */
function watched(counts: { started: number; stopped: number; restarted: number }): (timer: StartTimer) => StartTimer {
  return (timer) => (ms, fire) => {
    counts.started++;
    const inner = timer(ms, fire);
    return {
      stop: () => (counts.stopped++, inner.stop()),
      restart: (next) => (counts.restarted++, inner.restart(next)),
    };
  };
}

describe("a stream's bound on silence", () => {
  it("re-arms the attempt's one timer at each event, never stopping it while the consumer holds an event", async () => {
    const counts = { started: 0, stopped: 0, restarted: 0 };
    const s = setup({ wrapTimer: watched(counts) });
    s.vendor.script("m", stream(10, Array.from({ length: 50 }, () => 5)));
    const outcome = await streamed(s, [on("primary", "m")]);
    expect(outcome.error).toBeUndefined();
    expect(outcome.text.split(" ").filter(Boolean)).toHaveLength(50);
    // One timer for the attempt, re-armed after each of the 50 deltas (the end event ends the attempt), stopped once:
    // stopping it at every event made Node allocate a timer per event.
    expect(counts.started).toBe(1);
    expect(counts.restarted).toBe(50);
    expect(counts.stopped).toBe(1);
  });

  it("still cuts a stream silent past its bound after the consumer took an event", async () => {
    const s = setup({ timeoutMs: 1_000 });
    s.vendor.script("m", stream(10, [5, 5, Infinity]));
    const outcome = await streamed(s, [on("primary", "m")]);
    expect(outcome.text).toBe("t0 t1 t2 ");
    expect(outcome.error).toBeDefined();
    expect(outcome.attempts.map((a) => a.outcome)).toEqual(["timeout"]);
  });
});
