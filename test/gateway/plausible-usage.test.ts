// A vendor's counts held to what the call could have used (src/gateway/plausible-usage.ts); the whole path,
// through the ledger and the budget, is test/usage/implausible-usage.test.ts.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import { UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { plausibleUsage, PlausibleUsage } from "../../src/gateway/plausible-usage.js";
import { MAX_TOKEN_COUNT } from "../../src/providers/vendor-usage.js";

const usage = (fields: Parameters<typeof create<typeof UsageSchema>>[1]) => create(UsageSchema, fields);
const served = { provider: "evil", upstreamModel: "m" };

describe("plausibleUsage", () => {
  it("keeps a usage within the call's limits as it is, the very object", () => {
    const told = usage({ promptTokens: 100, completionTokens: 50, totalTokens: 170, cachedTokens: 100, reasoningTokens: 50 });
    const held = plausibleUsage(told, { promptTokens: 100, completionTokens: 50 });
    expect(held.corrections).toEqual([]);
    expect(held.usage).toBe(told);
  });

  it("keeps a vendor's prompt past the context window and completion past the output bound (as billed), and tells them", () => {
    const told = usage({ promptTokens: 2_000_000_000, completionTokens: 1_000_000, totalTokens: 2_001_000_000 });
    const held = plausibleUsage(told, { promptTokens: 128_000, completionTokens: 50 });
    expect(held.usage).toBe(told);
    expect(held.corrections).toEqual([
      { field: "prompt_tokens", reported: 2_000_000_000, kept: 2_000_000_000, bound: 128_000 },
      { field: "completion_tokens", reported: 1_000_000, kept: 1_000_000, bound: 50 },
    ]);
  });

  it("holds the gateway's own estimate to the bounds; the total is their sum", () => {
    const held = plausibleUsage(usage({ promptTokens: 200_000, completionTokens: 80, totalTokens: 200_080 }), { promptTokens: 128_000, completionTokens: 50 }, true);
    expect(held.usage).toMatchObject({ promptTokens: 128_000, completionTokens: 50, totalTokens: 128_050 });
  });

  it("holds each detail to the count it is part of", () => {
    const held = plausibleUsage(usage({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 11, cacheWriteTokens: 12, cacheWrite1hTokens: 13, reasoningTokens: 6 }), {});
    expect(held.usage).toMatchObject({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 10, cacheWriteTokens: 10, cacheWrite1hTokens: 10, reasoningTokens: 5 });
    expect(held.corrections.map((c) => c.field)).toEqual(["cached_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens"]);
  });

  it("makes every count a whole number from 0 up: negatives and NaN are 0, fractions round up, past int32 is int32", () => {
    const held = plausibleUsage(usage({ promptTokens: -5, completionTokens: 2.2, totalTokens: Number.NaN, reasoningTokens: Number.NaN }), {});
    expect(held.usage).toMatchObject({ promptTokens: 0, completionTokens: 3, totalTokens: 3, reasoningTokens: 0 });
    expect(plausibleUsage(usage({ completionTokens: Infinity }), {}).usage.completionTokens).toBe(MAX_TOKEN_COUNT);
  });
});

describe("PlausibleUsage", () => {
  it("tells a vendor's report past a bound once a call (a stream repeats its running usage), its estimates never", () => {
    const tell = vi.fn();
    const call = new PlausibleUsage(() => ({ completionTokens: 50 }), tell);
    expect(call.estimated(usage({ promptTokens: 1, completionTokens: 80 }), served).completionTokens).toBe(50);
    expect(tell).not.toHaveBeenCalled();
    expect(call.reported(usage({ promptTokens: 1, completionTokens: 60 }), served).completionTokens).toBe(60);
    expect(call.reported(usage({ promptTokens: 1, completionTokens: 70 }), served).completionTokens).toBe(70);
    expect(tell).toHaveBeenCalledTimes(1);
    expect(tell).toHaveBeenCalledWith(served, [{ field: "completion_tokens", reported: 60, kept: 60, bound: 50 }]);
  });
});
