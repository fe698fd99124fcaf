// What a rebuilt spend counter holds of an instance's rows not stored yet (src/usage/unstored-spend.ts).
// CI, stop 35: a new key's first call rebuilt its counter; the second call, on another instance, was
// admitted into the rebuilt counter a few milliseconds later, in the same minute; that instance, told of
// the rebuild while its row waited for the store, held its cost again as "admitted before the point",
// and the key was refused a call early.
import { describe, expect, it } from "vitest";
import { UnstoredSpend } from "../../src/usage/unstored-spend.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";

const MINUTE = Date.UTC(2026, 11, 5, 11, 0);
const row = (atMs: number, costNanos: number, keyId = "k") => ({ keyId, atMs, costNanos }) as LedgerRow;

describe("unstored spend within a range", () => {
  it("leaves out a minute whose calls were all admitted after the range's end", () => {
    const unstored = new UnstoredSpend();
    unstored.add(row(MINUTE + 20_030, 6));
    unstored.add(row(MINUTE + 20_090, 6));
    expect(unstored.within("k", 0, MINUTE + 20_000)).toBe(0);
    expect(unstored.within("k", 0, MINUTE + 20_031)).toBe(12);
  });

  it("counts a minute whole when it holds calls on both sides: more, never less", () => {
    const unstored = new UnstoredSpend();
    unstored.add(row(MINUTE + 10_000, 6));
    unstored.add(row(MINUTE + 30_000, 7));
    expect(unstored.within("k", 0, MINUTE + 20_000)).toBe(13);
  });

  it("leaves out a minute whose calls were all admitted before the range's start", () => {
    const unstored = new UnstoredSpend();
    unstored.add(row(MINUTE + 5_000, 6));
    expect(unstored.within("k", MINUTE + 5_001, MINUTE + 60_000)).toBe(0);
    expect(unstored.within("k", MINUTE + 5_000, MINUTE + 60_000)).toBe(6);
  });

  it("keeps a minute's bounds while it holds a cost: a stored row never narrows them", () => {
    const unstored = new UnstoredSpend();
    const early = row(MINUTE + 1_000, 6);
    unstored.add(early);
    unstored.add(row(MINUTE + 40_000, 7));
    unstored.remove(early);
    // The later call alone waits; its minute still reads as holding an early call: counted, as before the refinement.
    expect(unstored.within("k", 0, MINUTE + 20_000)).toBe(7);
    unstored.remove(row(MINUTE + 40_000, 7));
    unstored.add(row(MINUTE + 50_000, 8));
    // Emptied, the minute starts afresh.
    expect(unstored.within("k", 0, MINUTE + 20_000)).toBe(0);
  });
});
