import { describe, expect, it } from "vitest";
import { judgeCanary, type CanaryTally } from "../../src/secrets/canary.js";

const rule = { promoteAfter: 20, rollbackAfterErrors: 3 };
const tally = (t: Partial<CanaryTally>): CanaryTally => ({ successes: 0, errors: 0, hardFailure: undefined, activeSuccesses: 0, activeErrors: 0, ...t });

describe("the canary rule", () => {
  it("waits until N successes, then promotes at an error rate no worse than the active keys'", () => {
    expect(judgeCanary(tally({ successes: 19 }), rule).action).toBe("wait");
    expect(judgeCanary(tally({ successes: 20, activeSuccesses: 180 }), rule).action).toBe("promote");
    // 1 error in 21 calls (4.8%) against the active keys' 5 in 100 (5%): no worse.
    expect(judgeCanary(tally({ successes: 20, errors: 1, activeSuccesses: 95, activeErrors: 5 }), rule).action).toBe("promote");
  });

  it("does not promote a canary worse than the active keys, and rolls it back after enough errors", () => {
    expect(judgeCanary(tally({ successes: 25, errors: 2, activeSuccesses: 300 }), rule).action).toBe("wait");
    const verdict = judgeCanary(tally({ successes: 25, errors: 3, activeSuccesses: 300 }), rule);
    expect(verdict).toEqual({ action: "rollback", reason: "error rate 10.7% after 3 errors, worse than the active keys' 0.0%" });
  });

  it("keeps a canary whose errors match the active keys' (the vendor is having a bad day)", () => {
    expect(judgeCanary(tally({ successes: 10, errors: 5, activeSuccesses: 60, activeErrors: 40 }), rule).action).toBe("wait");
  });

  it("rolls back at once on a rejected key, and a canary that never qualifies", () => {
    expect(judgeCanary(tally({ successes: 50, hardFailure: "rejected by the vendor (HTTP 401)" }), rule)).toEqual({ action: "rollback", reason: "rejected by the vendor (HTTP 401)" });
    expect(judgeCanary(tally({ successes: 58, errors: 2, activeSuccesses: 1000 }), rule).action).toBe("rollback");
  });

  it("with too few calls on the active keys to compare with, judges the canary only on the vendor refusing it", () => {
    // Every active key revoked: the canary carries the traffic, and its 5xx are what any key would meet.
    expect(judgeCanary(tally({ successes: 10, errors: 3 }), rule).action).toBe("wait");
    expect(judgeCanary(tally({ successes: 0, errors: 50, activeErrors: 19 }), rule).action).toBe("wait");
    expect(judgeCanary(tally({ successes: 20, errors: 40 }), rule)).toEqual({
      action: "promote",
      reason: "20 successful calls at an error rate of 66.7% (active keys: no calls to compare with; the vendor did not refuse it)",
    });
    expect(judgeCanary(tally({ successes: 20, errors: 3, activeSuccesses: 5 }), rule)).toMatchObject({ action: "promote", reason: expect.stringContaining("(active keys: only 5 calls to compare with;") });
    expect(judgeCanary(tally({ successes: 3, hardFailure: "rejected by the vendor (HTTP 401)" }), rule).action).toBe("rollback");
    // Once the active keys have made promote_after calls, they are the baseline.
    expect(judgeCanary(tally({ successes: 10, errors: 3, activeSuccesses: 20 }), rule).action).toBe("rollback");
  });
});
