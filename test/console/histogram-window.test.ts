import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { quantile, readByProvider, ReadingWindow, since, total } from "../../src/api/admin/histogram-window.js";

describe("percentiles from the gateway's histograms", () => {
  it("sums a provider's buckets over the other labels and interpolates inside the bucket, as histogram_quantile does", async () => {
    const h = new Histogram({ name: "t_seconds", help: "t", labelNames: ["provider", "status"], buckets: [0.1, 0.2, 0.4], registers: [new Registry()] });
    for (const s of [0.05, 0.15, 0.15, 0.3]) h.observe({ provider: "a", status: "200" }, s);
    h.observe({ provider: "a", status: "500" }, 1);
    h.observe({ provider: "b", status: "200" }, 0.05);
    const read = await readByProvider(h, (labels) => labels.status !== "200");
    const a = read.get("a")!;
    expect(a.bounds).toEqual([0.1, 0.2, 0.4, Infinity]);
    expect(a.counts).toEqual([1, 3, 4, 5]);
    expect(a.failed).toBe(1);
    expect(total(a)).toBe(5);
    // Rank 2.5 of 5 falls in (0.1, 0.2], 1.5 of its 2: 0.1 + 0.1 × 0.75.
    expect(quantile(a, 0.5)).toBeCloseTo(0.175);
    // Rank 4.75 falls in the +Inf bucket: the largest finite bound.
    expect(quantile(a, 0.95)).toBe(0.4);
    expect(read.get("b")!.counts).toEqual([1, 1, 1, 1]);
  });

  it("answers for the window from the newest reading at least that old, else from the start", () => {
    const window = new ReadingWindow<number>(300_000, 5_000, 0);
    expect(window.advance(10_000, 1)).toEqual({ sinceMs: 0 });
    expect(window.advance(12_000, 2)).toEqual({ sinceMs: 0 }); // too close to the last: not kept
    expect(window.advance(200_000, 3)).toEqual({ sinceMs: 0 });
    expect(window.advance(320_000, 4)).toEqual({ base: 1, sinceMs: 10_000 });
    expect(window.advance(520_000, 5)).toEqual({ base: 3, sinceMs: 200_000 });
    // An hour without readings: the window is as long as the gap.
    expect(window.advance(4_120_000, 6)).toEqual({ base: 5, sinceMs: 520_000 });
  });

  it("subtracts an earlier reading, and has no percentile without observations", () => {
    const before = { bounds: [0.1, Infinity], counts: [2, 3], failed: 1 };
    const now = { bounds: [0.1, Infinity], counts: [2, 5], failed: 1 };
    const delta = since(now, before);
    expect(delta).toEqual({ bounds: [0.1, Infinity], counts: [0, 2], failed: 0 });
    expect(quantile(since(before, before), 0.5)).toBeUndefined();
  });
});
