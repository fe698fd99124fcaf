// A hedged call whose one attempt fails with the caller's own error (a 400, a
// content filter): no other attempt could change it, so the call ends at once
// with that error and the other attempt is cancelled, counting neither against
// the vendor's breaker nor its key. A failure another attempt may get past
// still lets the other win. Simulated clock (sim-dispatch.ts): no real time passes.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { buildHedge } from "../../src/config/traffic.js";
import { answer, fail, hang, on, setup, unary, type Setup } from "./sim-dispatch.js";

const HEDGE_DELAY_MS = 300;

/** A vendor hedged after HEDGE_DELAY_MS, whose breaker a single counted failure would open. */
function hedged(): Setup {
  const s = setup({ breaker: { enabled: true, consecutiveFailures: 1, minCalls: 1_000 } });
  s.dispatcher.runtime("primary")!.hedge = buildHedge({ delay_ms: HEDGE_DELAY_MS });
  return s;
}

const rows = (attempts: { outcome: string; hedged: boolean }[]) => attempts.map((a) => `${a.outcome}${a.hedged ? " (hedge)" : ""}`);
const keyErrors = (s: Setup): number => s.dispatcher.runtime("primary")!.pool.list().reduce((sum, key) => sum + key.recentErrors, 0);

async function winners(s: Setup): Promise<string[]> {
  const metric = await s.metrics.hedges.get();
  return metric.values.filter((v) => v.value > 0).map((v) => `${v.labels.winner}=${v.value}`);
}

describe("a hedge and the caller's own error", () => {
  it("the primary's 400 ends the call at once; the hanging hedge is cancelled, neutral to the breaker and the key", async () => {
    const s = hedged();
    s.vendor.script("m", fail("bad_request", 500), hang);
    const { error, elapsed, attempts } = await unary(s, [on("primary", "m")]);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(elapsed).toBe(500); // not the hedge's 120 s timeout
    expect(rows(attempts)).toEqual(["bad_request", "cancelled (hedge)"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    expect(keyErrors(s)).toBe(0);
    expect(await winners(s)).toEqual(["none=1"]);
  });

  it("the hedge's content filter ends the call at once; the primary is cancelled", async () => {
    const s = hedged();
    s.vendor.script("m", hang, fail("content_filtered", 100));
    const { error, elapsed, attempts } = await unary(s, [on("primary", "m")]);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(elapsed).toBe(HEDGE_DELAY_MS + 100);
    expect(rows(attempts)).toEqual(["cancelled", "content_filtered (hedge)"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    expect(keyErrors(s)).toBe(0);
  });

  it("a failure another attempt may get past (a 503) leaves the other running, and it wins", async () => {
    const s = hedged();
    s.vendor.script("m", fail("overloaded", 400), answer(500));
    const { error, elapsed, text, attempts } = await unary(s, [on("primary", "m")]);
    expect(error).toBeUndefined();
    expect(text).toBe("primary:m");
    expect(elapsed).toBe(HEDGE_DELAY_MS + 500);
    expect(rows(attempts)).toEqual(["overloaded", "ok (hedge)"]);
    expect(await winners(s)).toEqual(["hedge=1"]);
  });
});
