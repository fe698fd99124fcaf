// One 429 must cool a key briefly, whatever retry-after the vendor sends: a
// caller who can make the vendor answer 429 (OpenAI's "Request too large …
// TPM" is the caller's error now, but not every such 429 says so) would
// otherwise bench the provider's shared key, for every model, for as long as
// the vendor says. Only 429s in a row escalate, and never past
// max_cooldown_ms (one caller's at most once: one-caller-429s.test.ts).
import { describe, expect, it } from "vitest";
import { buildKeyPool, DEFAULT_KEY_POOL, keyPoolSchema } from "../../src/config/secrets-config.js";
import { parseRetryAfter } from "../../src/providers/retry-after.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { failure, manualClock, OK, testPool } from "./support/pool-fixtures.js";

const tooLarge = (retryAfterMs?: number) => failure("rate_limited", { status: 429, vendorCode: "rate_limit_exceeded", retryAfterMs });

function catchError(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    return err as UpstreamError;
  }
  throw new Error("no error");
}

describe("one 429 cools a key briefly", () => {
  it("for at most a minute, whatever retry-after the vendor sends (seconds or an HTTP date in 9999)", () => {
    const clock = manualClock();
    for (const header of ["315360000", "Fri, 31 Dec 9999 23:59:59 GMT"]) {
      const hint = parseRetryAfter({ "retry-after": header }, clock.now());
      expect(hint).toBeGreaterThan(60_000);
      const { pool } = testPool([{ id: "a" }], { now: clock.now });
      pool.report("openai/a", tooLarge(hint));
      const key = pool.get("openai/a")!;
      expect(key.state).toBe("cooling_down");
      expect(key.nextAt).toBe(clock.now() + 60_000);
      expect(key.reason).toBe("rate limited by the vendor; back in 1 min");
      // With one key, the provider fails fast for a minute at most, then serves again.
      const err = catchError(() => pool.pick());
      expect(err.kind).toBe("rate_limited");
      expect(err.retryAfterMs).toBe(60_000);
      clock.advance(60_000);
      expect(pool.pick().id).toBe("openai/a");
      clock.advance(1_000_000);
    }
  });

  it("honours a short retry-after exactly", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    pool.report("openai/a", tooLarge(12_000));
    expect(pool.get("openai/a")!.nextAt).toBe(clock.now() + 12_000);
  });

  it("escalates only on 429s in a row: doubling up to max_cooldown_ms (5 min by default)", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    const benches: number[] = [];
    for (let i = 0; i < 6; i++) {
      pool.report("openai/a", tooLarge(3_600_000));
      const until = pool.get("openai/a")!.nextAt!;
      benches.push(until - clock.now());
      clock.advance(until - clock.now());
      pool.pick(); // the cool-down ends; the key's next call is answered 429 again
    }
    expect(benches).toEqual([60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    expect(DEFAULT_KEY_POOL.maxCooldownMs).toBe(300_000);
  });

  it("starts over after a success, or after a quiet spell longer than cooldown_repeat_window_ms", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    const bench = () => pool.get("openai/a")!.nextAt! - clock.now();
    pool.report("openai/a", tooLarge(3_600_000));
    clock.advance(60_000);
    pool.report("openai/a", tooLarge(3_600_000));
    expect(bench()).toBe(120_000);
    clock.advance(120_000);
    pool.report("openai/a", OK); // the key served a call: that run of 429s is over
    pool.report("openai/a", tooLarge(3_600_000));
    expect(bench()).toBe(60_000);
    clock.advance(60_000 + DEFAULT_KEY_POOL.cooldownRepeatWindowMs + 1);
    pool.report("openai/a", tooLarge(3_600_000));
    expect(bench()).toBe(60_000);
  });

  it("a 429 from a call sent before the bench extends it to no more than the bound, and does not escalate", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    pool.report("openai/a", tooLarge(3_600_000));
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) pool.report("openai/a", tooLarge(3_600_000)); // calls that were under way
    expect(pool.get("openai/a")!.nextAt).toBe(clock.now() + 60_000);
  });

  it("without retry-after: cooldown_ms, doubled for each 429 in a row", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    const benches: number[] = [];
    for (let i = 0; i < 3; i++) {
      pool.report("openai/a", tooLarge());
      benches.push(pool.get("openai/a")!.nextAt! - clock.now());
      clock.advance(benches[i]!);
      pool.pick();
    }
    expect(benches).toEqual([5_000, 10_000, 20_000]);
  });

  it("follows the configuration: max_first_cooldown_ms, never past max_cooldown_ms", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, rules: { maxFirstCooldownMs: 10_000, maxCooldownMs: 25_000 } });
    const benches: number[] = [];
    for (let i = 0; i < 3; i++) {
      pool.report("openai/a", tooLarge(3_600_000));
      benches.push(pool.get("openai/a")!.nextAt! - clock.now());
      clock.advance(benches[i]!);
      pool.pick();
    }
    expect(benches).toEqual([10_000, 20_000, 25_000]);
    const low = testPool([{ id: "a" }], { now: clock.now, rules: { maxFirstCooldownMs: 60_000, maxCooldownMs: 15_000 } }).pool;
    low.report("openai/a", tooLarge(3_600_000));
    expect(low.get("openai/a")!.nextAt).toBe(clock.now() + 15_000);
  });

  it("reads key_pool.max_first_cooldown_ms and cooldown_repeat_window_ms from the file, with sane defaults", () => {
    expect(buildKeyPool(undefined)).toMatchObject({ cooldownMs: 5_000, maxFirstCooldownMs: 60_000, cooldownRepeatWindowMs: 120_000, maxCooldownMs: 300_000 });
    const declared = keyPoolSchema.parse({ max_first_cooldown_ms: 30_000, cooldown_repeat_window_ms: 600_000, max_cooldown_ms: 900_000 });
    expect(buildKeyPool(declared)).toMatchObject({ maxFirstCooldownMs: 30_000, cooldownRepeatWindowMs: 600_000, maxCooldownMs: 900_000 });
    expect(keyPoolSchema.safeParse({ max_first_cooldown_ms: 0 }).success).toBe(false);
  });
});
