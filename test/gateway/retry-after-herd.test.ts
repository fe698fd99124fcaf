// The audit's "every waiting call reaches the vendor at the same instant" (pools2, finding 2): one key, the
// vendor answers 429 with `retry-after-ms: 1500`, 40 calls arrive together. Every caller that met the 429 or
// found the key cooling down used to sleep exactly until the cool-down ended, so the vendor got all 40 in the
// same instant right after it said "slow down". On the simulated clock of sim-dispatch.ts, with a seeded jitter.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DispatchFailure } from "../../src/gateway/dispatch-outcome.js";
import { seededRandom } from "../secrets/support/pool-fixtures.js";
import { answer, context, fail, on, params, setup, type Setup } from "./sim-dispatch.js";

const HINT_MS = 1_500;
const CALLS = 40;
const VENDOR_MS = 20;
const DEADLINE_MS = 10_000;

/** `CALLS` calls arriving 7 ms apart (the first few reach the vendor before its first 429 comes back), run to their end. */
async function crowd(s: Setup): Promise<{ ok: number; codes: Code[]; elapsed: number[] }> {
  const start = s.clock.now;
  const calls: Promise<{ code?: Code; elapsed: number }>[] = [];
  const arrived = Array.from({ length: CALLS }, (_, i) => new Promise<void>((resolve) => s.clock.timer(i * 7, resolve)));
  for (const arrival of arrived) {
    calls.push(
      arrival.then(() =>
        s.dispatcher.unary([on("primary", "m")], context(s.clock, DEADLINE_MS), (adapter, call) => adapter.chat({ ...call, params })).then(
          () => ({ elapsed: s.clock.now - start }),
          (err: unknown) => {
            if (!(err instanceof DispatchFailure)) throw err;
            return { code: err.error.code, elapsed: s.clock.now - start };
          },
        ),
      ),
    );
  }
  const results = await s.clock.run(Promise.all(calls));
  return { ok: results.filter((r) => r.code === undefined).length, codes: results.flatMap((r) => (r.code === undefined ? [] : [r.code])), elapsed: results.map((r) => r.elapsed) };
}

/** The most requests the vendor received within any `windowMs`, from `fromMs` after the first request on. */
function busiestWindow(s: Setup, windowMs: number, fromMs = 0): number {
  const start = s.vendor.sentAt[0]!;
  const times = s.vendor.sentAt.map((at) => at - start).filter((at) => at >= fromMs);
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + windowMs).length));
}

describe("a short 429 cool-down ends without a herd", () => {
  it("a vendor that keeps answering 429 does not get every waiting caller at the cool-down's end, and the calls it gets stay bounded", async () => {
    const s = setup({ keys: 1, random: seededRandom(7) });
    for (let i = 0; i < 400; i++) s.vendor.script("m", fail("rate_limited", VENDOR_MS, HINT_MS));
    const { ok, codes, elapsed } = await crowd(s);
    expect(ok).toBe(0);
    expect(new Set(codes)).toEqual(new Set([Code.ResourceExhausted]));
    expect(Math.max(...elapsed)).toBeLessThan(DEADLINE_MS + CALLS * 7);
    // Before: 3 requests at once, then all 40 within the same 100 ms at 1.52 s, then 15 together at 3.04 s (58 in all,
    // as the audit saw). Now (60 seeds): at most 4 within any 100 ms, 7 to 13 in all.
    expect(busiestWindow(s, 100, HINT_MS)).toBeLessThanOrEqual(5);
    // The first 429 after the cool-down cools the key again, and the callers due meanwhile find it cooling and wait
    // anew (until their cool-downs waited reach max_retry_after_ms): about one call per cool-down reaches the vendor.
    expect(s.vendor.sentAt.length).toBeLessThanOrEqual(CALLS / 2);
  });

  it("a vendor that takes calls again after the cool-down serves every caller, spread over at most as long again as the hint", async () => {
    const s = setup({ keys: 1, random: seededRandom(11) });
    s.vendor.script("m", ...Array.from({ length: 3 }, () => fail("rate_limited", VENDOR_MS, HINT_MS)));
    for (let i = 0; i < 200; i++) s.vendor.script("m", answer(VENDOR_MS));
    const { ok, elapsed } = await crowd(s);
    expect(ok).toBe(CALLS);
    expect(s.vendor.sentAt.length).toBe(CALLS + 3); // the three that met the 429 retried once; nobody else met one
    // Before: all 40 within the same 100 ms. Now (60 seeds): at most 10 within any 100 ms, over more than a second.
    expect(busiestWindow(s, 100, HINT_MS)).toBeLessThanOrEqual(12);
    expect(s.vendor.sentAt.at(-1)! - s.vendor.sentAt[3]!).toBeGreaterThan(1_000);
    // The jitter is at most the hint again: nobody waits past twice the hint (plus the arrivals and the vendor's answers).
    expect(Math.max(...elapsed)).toBeLessThan(2 * HINT_MS + CALLS * 7 + 2 * VENDOR_MS);
  });

  it("the caller's deadline bounds the jittered wait: a deadline that leaves room past the hint still gets its retry, before it", async () => {
    // The highest draw: without the bound it would wait 1.5 s + 1.5 s, past the 2 s deadline, and give the caller the 429.
    const s = setup({ keys: 1, random: () => 0.999 });
    s.vendor.script("m", fail("rate_limited", VENDOR_MS, HINT_MS), answer(VENDOR_MS));
    const started = s.clock.now;
    const served = await s.clock.run(s.dispatcher.unary([on("primary", "m")], context(s.clock, 2_000), (adapter, call) => adapter.chat({ ...call, params })));
    expect(served.outcome.attempts.map((a) => a.outcome)).toEqual(["rate_limited", "ok"]);
    expect(s.clock.now - started).toBeLessThan(2_000);
  });
});
