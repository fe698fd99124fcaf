import { describe, expect, it } from "vitest";
import { formatDistinctAmounts } from "../../src/usage/distinct-amounts.js";

const nanos = (units: number) => Math.round(units * 1e9);

describe("a budget refusal's spend and budget", () => {
  it("keeps four decimals where they tell the amounts apart", () => {
    expect(formatDistinctAmounts(nanos(30.5), nanos(30))).toEqual(["30.5000", "30.0000"]);
    expect(formatDistinctAmounts(nanos(30), nanos(30))).toEqual(["30.0000", "30.0000"]);
  });

  it("shows a tiny budget and its spend with the digits that tell them apart, never as 0.0000", () => {
    expect(formatDistinctAmounts(21_300, nanos(0.00002))).toEqual(["0.000021", "0.000020"]);
    expect(formatDistinctAmounts(nanos(0.00002), nanos(0.00002))).toEqual(["0.00002", "0.00002"]);
  });

  it("shows a spend just past a round budget", () => {
    expect(formatDistinctAmounts(nanos(5) + 12, nanos(5))).toEqual(["5.00000001", "5.00000000"]);
  });
});
