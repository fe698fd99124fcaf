// Only the probe's own outcome settles a probe. A key is rejected (or benched
// for failing) while older attempts with it are still under way: a long stream
// begun before the revocation that ends well now, or a request whose 401 comes
// late. Before, whichever attempt on the key ended first while a probe was out
// was taken as the probe's: the old stream's success brought a revoked key
// back into rotation (and reset its probe backoff), and an old 401 used up the
// probe's place, so the real probe's success was ignored (audit pools2 #3).
// The pool hands a probe out with a credential object of its own; the
// attempt reports with it. A test-driven clock, no sleeps.
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import { failure, manualClock, OK, testPool } from "./support/pool-fixtures.js";

const rejected = () => failure("credential_rejected", { status: 401, vendorCode: "invalid_api_key" });

/** One key, a; the attempts sent with it before the vendor revoked it are still under way. */
function revokedWithOldAttempts() {
  const clock = manualClock();
  const fixture = testPool([{ id: "a" }], { now: clock.now, rules: { probeAfterMs: 2_000 } });
  const { pool } = fixture;
  const oldStream = pool.pick();
  const oldRequest = pool.pick();
  pool.report(pool.pick(), rejected()); // a call meets the revocation: a is disabled
  expect(pool.get("openai/a")!.state).toBe("disabled");
  clock.advance(2_000);
  const probe = pool.pick();
  expect(probe.id).toBe("openai/a");
  const changes = () => fixture.logs.entries.filter((e) => e.msg === "key state changed").map((e) => `${e.from}->${e.to}:${e.cause}`);
  return { pool, clock, oldStream, oldRequest, probe, changes };
}

describe("a probe of a rejected key", () => {
  it("is not settled by an older attempt's success: the revoked key stays out of rotation", () => {
    const { pool, clock, oldStream, probe, changes } = revokedWithOldAttempts();
    clock.advance(6_000);
    pool.report(oldStream, OK); // sent before the revocation, ends well now
    expect(pool.get("openai/a")!.state).toBe("disabled");
    expect(() => pool.pick()).toThrow(/no usable key/); // its probe is still out: no second one
    clock.advance(2_000);
    pool.report(probe, rejected()); // the probe's own answer: still revoked, probed again after a doubled wait
    expect(pool.get("openai/a")).toMatchObject({ state: "disabled", nextAt: clock.now() + 4_000 });
    expect(changes()).toEqual(["active->disabled:credential_rejected"]);
  });

  it("is not used up by an older attempt's rejection: the probe's own success brings the key back", () => {
    const { pool, oldRequest, probe, changes } = revokedWithOldAttempts();
    pool.report(oldRequest, rejected());
    expect(() => pool.pick()).toThrow(/no usable key/); // the probe's place is still taken: no second probe
    pool.report(probe, OK); // the key was revoked by mistake and restored: the probe says so
    expect(pool.get("openai/a")!.state).toBe("active");
    expect(changes()).toEqual(["active->disabled:credential_rejected", "disabled->active:probe_succeeded"]);
  });

  it("given back unsent (release) frees its place at once, judging nothing: the next pick probes the key again", () => {
    const { pool, probe } = revokedWithOldAttempts();
    pool.release(probe); // the call dropped it (its budget or deadline) before sending it
    expect(pool.get("openai/a")!.state).toBe("disabled");
    const again = pool.pick();
    expect(again.id).toBe("openai/a");
    pool.report(again, OK);
    expect(pool.get("openai/a")!.state).toBe("active");
  });

  it("reported by the key's id alone settles nothing: the probe frees its place only when lost", () => {
    const { pool, clock } = revokedWithOldAttempts();
    pool.report("openai/a", OK);
    expect(pool.get("openai/a")!.state).toBe("disabled");
    clock.advance(60_001); // a probe never reported is given up after a minute
    expect(pool.pick().id).toBe("openai/a");
  });
});

describe("a probe of a key back from failing (on probation)", () => {
  it("is settled by its own outcome, not by an attempt sent before the bench", () => {
    const clock = manualClock();
    const breaker = { ...DEFAULT_TRAFFIC.breaker, consecutiveFailures: 3, minCalls: 1_000, openMs: 5_000, halfOpenProbes: 1 };
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: () => 0, breaker });
    const old = pool.pick();
    expect(old.id).toBe("openai/a");
    for (let i = 0; i < 3; i++) pool.report("openai/a", failure("overloaded", { status: 503 }));
    clock.advance(5_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/a");
    pool.report(old, failure("overloaded", { status: 503 })); // sent before the bench: says nothing of now
    expect(pool.get("openai/a")).toMatchObject({ state: "active", reason: "back from failing, on probation: its next call decides" });
    pool.report(probe, OK);
    expect(pool.get("openai/a")!.reason).toBe("back in rotation: its call on probation succeeded");
  });
});
