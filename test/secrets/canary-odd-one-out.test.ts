// A canary the vendor answers 404 (or 400) where the active keys succeed (its
// project has no access to the model) must be rolled back: those answers are
// "not the key's fault" for an active key, but the canary is the odd one out.
// The caller's own bad requests, which every key gets alike, must not roll a
// good canary back. Through the pool's own API, with a driven clock.
import { describe, expect, it } from "vitest";
import { binomialTail } from "../../src/secrets/canary-odd-one-out.js";
import { failure, manualClock, OK, seededRandom, testPool } from "./support/pool-fixtures.js";

const notFound = () => failure("model_not_found", { status: 404, vendorCode: "model_not_found" });
const badRequest = () => failure("bad_request", { status: 400, vendorCode: "invalid_request_error" });

describe("a canary that fails where the active keys succeed", () => {
  it("is rolled back when the vendor answers it model_not_found and the active keys succeed (the audit: share 0.5)", () => {
    const clock = manualClock();
    const { pool, credential, logs } = testPool([{ id: "a" }], { now: clock.now, random: seededRandom(31) });
    pool.stage({ credential: credential("next"), replaces: "openai/a", share: 0.5 });
    let canaryCalls = 0;
    for (let i = 0; i < 200 && pool.get("openai/next")!.state === "standby"; i++) {
      const picked = pool.pick();
      clock.advance(100);
      if (picked.id === "openai/next") {
        canaryCalls++;
        // Mostly 404s for the model its project cannot use, now and then a 400 (as in the audit: 80 and 8).
        pool.report(picked.id, canaryCalls % 10 === 0 ? badRequest() : notFound());
      } else {
        pool.report(picked.id, OK);
      }
    }
    const next = pool.get("openai/next")!;
    expect(next.state).toBe("retired");
    expect(next.reason).toMatch(/^rolled back automatically: it fails where the active keys succeed \(model_not_found on \d+ of its \d+ answered calls, the active keys on 0 of \d+, HTTP 404\)/);
    expect(canaryCalls).toBeLessThanOrEqual(15);
    expect(pool.get("openai/a")!.state).toBe("active");
    const rolledBack = logs.entries.find((e) => e.msg === "key state changed" && e.credential === "openai/next" && e.to === "retired");
    expect(rolledBack).toMatchObject({ from: "standby", cause: "auto_rolled_back" });
    // Every call goes to the active key again.
    for (let i = 0; i < 50; i++) expect(pool.pick().id).toBe("openai/a");
  });

  it("judges by a binomial test: how likely the canary's share of those answers is, were it no different", () => {
    expect(binomialTail(10, 0.5, 10)).toBeCloseTo(0.5 ** 10, 12);
    expect(binomialTail(3, 0.5, 2)).toBeCloseTo(0.5, 12);
    expect(binomialTail(5, 0.3, 0)).toBe(1);
    expect(binomialTail(5, 0.3, 6)).toBe(0);
    // Long runs neither underflow nor lose the tail.
    expect(binomialTail(5_000, 0.1, 500)).toBeGreaterThan(0.4);
    expect(binomialTail(5_000, 0.1, 700)).toBeLessThan(1e-9);
    expect(binomialTail(5_000, 0.1, 700)).toBeGreaterThan(0);
  });

  it("needs rollback_after_errors such answers beyond what the active keys' rate predicts", () => {
    const clock = manualClock();
    const { pool, credential } = testPool([{ id: "a" }], { now: clock.now, random: seededRandom(32), rules: { rollbackAfterErrors: 10 } });
    pool.stage({ credential: credential("next"), share: 0.5 });
    let canaryCalls = 0;
    for (let i = 0; i < 200 && pool.get("openai/next")!.state === "standby"; i++) {
      const picked = pool.pick();
      if (picked.id === "openai/next") canaryCalls++;
      pool.report(picked.id, picked.id === "openai/next" ? notFound() : OK);
    }
    expect(pool.get("openai/next")!.state).toBe("retired");
    expect(canaryCalls).toBeGreaterThanOrEqual(11);
  });

  it("is rolled back when it also succeeds on other models, if it fails on one the active keys serve", () => {
    const clock = manualClock();
    const random = seededRandom(33);
    const { pool, credential } = testPool([{ id: "a" }], { now: clock.now, random, rules: { promoteAfter: 20 } });
    pool.stage({ credential: credential("next"), share: 0.3 });
    for (let i = 0; i < 2_000 && pool.get("openai/next")!.state === "standby"; i++) {
      const picked = pool.pick();
      // A third of the calls ask for the one model the canary's project cannot use.
      const forTheModel = random() < 1 / 3;
      pool.report(picked.id, picked.id === "openai/next" && forTheModel ? notFound() : OK);
    }
    expect(pool.get("openai/next")).toMatchObject({ state: "retired", reason: expect.stringMatching(/fails where the active keys succeed/) });
  });

  it("cannot stay undecided for ever: its 404s count toward three times promote_after calls", () => {
    const clock = manualClock();
    const { pool, credential } = testPool([{ id: "a" }], { now: clock.now, random: seededRandom(34), rules: { promoteAfter: 5 } });
    pool.stage({ credential: credential("next"), share: 0.5 });
    // The active key is rate limited: no active answers to compare with, only the canary serves.
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 30_000 }));
    for (let i = 0; i < 14; i++) {
      expect(pool.pick().id).toBe("openai/next");
      pool.report("openai/next", notFound());
    }
    expect(pool.get("openai/next")!.state).toBe("standby");
    pool.report("openai/next", notFound());
    expect(pool.get("openai/next")).toMatchObject({
      state: "retired",
      reason: "rolled back automatically: 15 calls without qualifying for promotion, 15 of them answered model_not_found where the active keys are not",
    });
  });
});

describe("a good canary among callers' bad requests", () => {
  it("is promoted: 400s and 404s that every key gets alike never count against it", () => {
    for (let seed = 1; seed <= 25; seed++) {
      const clock = manualClock();
      const random = seededRandom(seed);
      const requests = seededRandom(seed + 1_000);
      const { pool, credential } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random, rules: { promoteAfter: 20 } });
      pool.stage({ credential: credential("next"), replaces: "openai/a", share: 0.2 });
      for (let i = 0; i < 5_000 && pool.get("openai/next")!.state === "standby"; i++) {
        const picked = pool.pick();
        clock.advance(50);
        // A quarter of the callers' requests are bad: 15% 400s, 10% 404s for a model nobody has.
        const draw = requests();
        pool.report(picked.id, draw < 0.15 ? badRequest() : draw < 0.25 ? notFound() : OK);
      }
      expect(pool.get("openai/next"), `seed ${seed}`).toMatchObject({ state: "active" });
    }
  });

  it("is not rolled back by the three-times rule for bad requests the active keys get as often", () => {
    const clock = manualClock();
    const random = seededRandom(41);
    const { pool, credential } = testPool([{ id: "a" }], { now: clock.now, random, rules: { promoteAfter: 10 } });
    pool.stage({ credential: credential("next"), share: 0.5 });
    // Two calls in three are a caller's bad requests: the canary needs about 30 calls for 10 successes.
    let outcomes = 0;
    for (let i = 0; i < 1_000 && pool.get("openai/next")!.state === "standby"; i++) {
      const picked = pool.pick();
      pool.report(picked.id, outcomes++ % 3 === 2 ? OK : badRequest());
    }
    expect(pool.get("openai/next")!.state).toBe("active");
  });
});
