import { describe, expect, it } from "vitest";
import { formatMoney } from "../../src/cli/money.js";

describe("formatMoney (the CLI's budgets and spend)", () => {
  it("shows cents, and every further digit an amount has, so nothing under a cent reads as 0.00", () => {
    expect(formatMoney({ units: 5n, nanos: 0 })).toBe("5.00");
    expect(formatMoney({ units: 12n, nanos: 340_000_000 })).toBe("12.34");
    expect(formatMoney({ units: 0n, nanos: 5_000_000 })).toBe("0.005");
    expect(formatMoney({ units: 0n, nanos: 4_500 })).toBe("0.0000045");
    expect(formatMoney({ units: 0n, nanos: 1 })).toBe("0.000000001");
    expect(formatMoney({ units: 1_000_000n, nanos: 10_000_000 })).toBe("1000000.01");
    expect(formatMoney({ units: 0n, nanos: 0 })).toBe("0.00");
  });

  it("keeps the sign of units and nanos", () => {
    expect(formatMoney({ units: -1n, nanos: -500_000_000 })).toBe("-1.50");
    expect(formatMoney({ units: 0n, nanos: -2_500_000 })).toBe("-0.0025");
  });

  it("pads to a minimum of decimals when asked", () => {
    expect(formatMoney({ units: 0n, nanos: 5_000_000 }, 6)).toBe("0.005000");
    expect(formatMoney({ units: 0n, nanos: 4_500 }, 6)).toBe("0.0000045");
  });
});
