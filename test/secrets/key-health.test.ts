// The key pool as the one judge of a key's health: a key that keeps failing
// at the vendor is benched on the circuit breakers' rule, comes back on
// probation, and its probe's outcome decides. A test-driven clock, no sleeps.
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAFFIC, type BreakerConfig } from "../../src/config/traffic.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { failure, manualClock, OK, seededRandom, tally, testPool } from "./support/pool-fixtures.js";

/** Three vendor-side failures in a row bench a key for 5 s; the rate rule needs more calls than these tests make. */
const breaker: BreakerConfig = { ...DEFAULT_TRAFFIC.breaker, consecutiveFailures: 3, minCalls: 1_000, openMs: 5_000, halfOpenProbes: 1 };
const overloaded = () => failure("overloaded", { status: 503 });
const ids = (counts: Map<string, number>) => [...counts.keys()].sort();

function twoKeys(config: BreakerConfig = breaker) {
  const clock = manualClock();
  const fixture = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(21), breaker: config });
  const changes = () =>
    fixture.logs.entries.filter((e) => e.msg === "key state changed" && e.credential === "openai/a").map((e) => `${e.from}->${e.to}:${e.cause}`);
  return { clock, changes, ...fixture };
}

async function transitions(metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } }, cause: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString("switchboard_key_transitions_total");
  const line = text.split("\n").find((l) => l.includes(`cause="${cause}"`) && l.includes('to="cooling_down"'));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("a key that keeps failing at the vendor", () => {
  it("is benched (cooling_down, cause failing) past the threshold while the other key serves", async () => {
    const { pool, clock, changes, metrics, logs, secrets } = twoKeys();
    pool.report("openai/a", overloaded());
    pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("active"); // two in a row: not yet
    pool.report("openai/a", overloaded());
    const benched = pool.get("openai/a")!;
    expect(benched).toMatchObject({ state: "cooling_down", nextAt: clock.now() + 5_000, trafficShare: 0 });
    expect(benched.reason).toBe("failing at the vendor (3 failures in a row); back in 5s");
    expect(ids(tally(pool, 200))).toEqual(["openai/b"]);
    expect(changes()).toEqual(["active->cooling_down:failing"]);
    expect(await transitions(metrics, "failing")).toBe(1);
    for (const secret of secrets.values()) expect(logs.text).not.toContain(secret);
  });

  it("comes back after open_ms on probation: one probe at a time, and a success clears its history", () => {
    const { pool, clock, changes } = twoKeys();
    for (let i = 0; i < 3; i++) pool.report("openai/a", overloaded());
    clock.advance(4_999);
    expect(ids(tally(pool, 50))).toEqual(["openai/b"]);
    clock.advance(1);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/a"); // the probe (half-open)
    expect(pool.get("openai/a")!).toMatchObject({ state: "active", reason: "back from failing, on probation: its next call decides", trafficShare: 0 });
    expect(ids(tally(pool, 50))).toEqual(["openai/b"]); // one probe at a time (half_open_probes: 1)
    pool.report(probe, OK);
    expect(pool.get("openai/a")!.reason).toBe("back in rotation: its call on probation succeeded");
    expect(ids(tally(pool, 200))).toEqual(["openai/a", "openai/b"]);
    // Its failure history is gone: two failures do not bench it, a third in a row does.
    pool.report("openai/a", overloaded());
    pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("active");
    pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("cooling_down");
    expect(changes()).toEqual(["active->cooling_down:failing", "cooling_down->active:cooldown_ended", "active->cooling_down:failing"]);
  });

  it("while its probe is under way, a key on probation serves only when no other key is left", () => {
    const { pool, clock } = twoKeys();
    for (let i = 0; i < 3; i++) pool.report("openai/a", overloaded());
    clock.advance(5_000);
    expect(pool.pick().id).toBe("openai/a"); // the probe
    // A retry that already tried b gets b back (the caller decides), not a second probe of a.
    expect(pool.pick(new Set(["openai/b"])).id).toBe("openai/b");
    pool.report("openai/b", failure("rate_limited", { status: 429, retryAfterMs: 1_000 }));
    expect(pool.pick().id).toBe("openai/a"); // b cools down: a rather than nobody
  });

  it("a failure on probation benches it again at once", () => {
    const { pool, clock, changes } = twoKeys();
    for (let i = 0; i < 3; i++) pool.report("openai/a", overloaded());
    clock.advance(5_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/a");
    pool.report(probe, failure("timeout"));
    expect(pool.get("openai/a")!).toMatchObject({ state: "cooling_down", nextAt: clock.now() + 5_000, reason: "failing at the vendor (its call on probation failed); back in 5s" });
    expect(changes()).toEqual(["active->cooling_down:failing", "cooling_down->active:cooldown_ended", "active->cooling_down:failing"]);
  });

  it("is benched by the failure rate over the window too, and the window forgets", () => {
    const byRate = { ...breaker, consecutiveFailures: 0, minCalls: 4, failureRate: 0.5, windowMs: 10_000 };
    const { pool, clock } = twoKeys(byRate);
    pool.report("openai/a", overloaded());
    pool.report("openai/a", OK);
    pool.report("openai/a", failure("unreachable"));
    clock.advance(10_000); // those three leave the window
    pool.report("openai/a", OK);
    pool.report("openai/a", failure("bad_response"));
    pool.report("openai/a", OK);
    expect(pool.get("openai/a")!.state).toBe("active");
    pool.report("openai/a", overloaded()); // 2 of the last 4 calls
    expect(pool.get("openai/a")!).toMatchObject({ state: "cooling_down", reason: "failing at the vendor (2 of its last 4 calls failed); back in 5s" });
  });

  it("the caller's errors, cancellations and 429s do not count as failing", () => {
    const { pool, clock, changes } = twoKeys();
    for (let i = 0; i < 10; i++) pool.report("openai/a", failure("bad_request", { status: 400 }));
    for (let i = 0; i < 10; i++) pool.report("openai/a", failure("cancelled"));
    expect(pool.get("openai/a")!.state).toBe("active");
    // A 429 keeps its own handling: a cool-down for the vendor's retry-after, not a bench for failing.
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 1_000 }));
    expect(changes()).toEqual(["active->cooling_down:rate_limited"]);
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 0 }));
    pool.pick();
    expect(pool.get("openai/a")!.state).toBe("active");
    // The vendor answering with this key (even with the caller's 400) breaks a run of failures; a cancellation says nothing.
    pool.report("openai/a", overloaded());
    pool.report("openai/a", overloaded());
    pool.report("openai/a", failure("bad_request", { status: 400 }));
    pool.report("openai/a", overloaded());
    pool.report("openai/a", failure("cancelled"));
    pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("active");
    pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("cooling_down");
    expect(changes()).toEqual(["active->cooling_down:rate_limited", "cooling_down->active:cooldown_ended", "active->cooling_down:failing"]);
  });

  it("one caller's timeouts count once per window (it can cause them by what it asks); other callers' and the vendor's 5xx count as before", () => {
    const { pool, changes } = twoKeys();
    const timedOut = (caller: string) => ({ ...failure("timeout"), caller });
    for (let i = 0; i < 10; i++) pool.report("openai/a", timedOut("KA"));
    expect(pool.get("openai/a")!.state).toBe("active");
    // Two more callers' timeouts: three callers in a row.
    pool.report("openai/a", timedOut("KB"));
    expect(pool.get("openai/a")!.state).toBe("active");
    pool.report("openai/a", timedOut("KC"));
    expect(pool.get("openai/a")!).toMatchObject({ state: "cooling_down", reason: "failing at the vendor (3 failures in a row); back in 5s" });
    expect(changes()).toEqual(["active->cooling_down:failing"]);

    // A single-tenant gateway (one gateway key for everything): the vendor's 5xx and refused connections count per call.
    const { pool: single } = twoKeys();
    single.report("openai/a", { ...overloaded(), caller: "KA" });
    single.report("openai/a", { ...failure("unreachable"), caller: "KA" });
    single.report("openai/a", { ...overloaded(), caller: "KA" });
    expect(single.get("openai/a")!.state).toBe("cooling_down");

    // Past the window, the same caller's timeout counts again: a vendor that hangs for a lone caller still benches in the end.
    const { pool: lone, clock: loneClock } = twoKeys();
    for (let i = 0; i < 3; i++) {
      lone.report("openai/a", timedOut("KA"));
      loneClock.advance(DEFAULT_TRAFFIC.breaker.windowMs);
    }
    expect(lone.get("openai/a")!.state).toBe("cooling_down");
  });

  it("a timeout on probation decides like any failure, whoever's it is", () => {
    const { pool, clock } = twoKeys();
    for (const caller of ["KA", "KB", "KC"]) pool.report("openai/a", { ...failure("timeout"), caller });
    clock.advance(5_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/a"); // the probe
    pool.report(probe, { ...failure("timeout"), caller: "KA" });
    expect(pool.get("openai/a")!).toMatchObject({ state: "cooling_down", reason: "failing at the vendor (its call on probation failed); back in 5s" });
  });

  it("with breakers disabled, no key is benched for failing", () => {
    const { pool } = twoKeys({ ...breaker, enabled: false });
    for (let i = 0; i < 50; i++) pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("active");
    expect(ids(tally(pool, 200))).toEqual(["openai/a", "openai/b"]);
  });

  it("the last key in rotation is not benched: a vendor failing every key is the provider breaker's to judge", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }], { now: clock.now, breaker });
    for (let i = 0; i < 10; i++) pool.report("openai/a", overloaded());
    expect(pool.get("openai/a")!.state).toBe("active");
    expect(pool.pick().id).toBe("openai/a");
  });

  it("with no other key to hand out, pick says the keys are failing and when the first is back", () => {
    const { pool, clock } = twoKeys();
    for (let i = 0; i < 3; i++) pool.report("openai/a", overloaded());
    pool.disable("openai/b", "test: out of rotation");
    clock.advance(2_000);
    let err: unknown;
    try {
      pool.pick();
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: "overloaded", retryAfterMs: 3_000, message: 'provider "openai" has no usable key right now (1 failing, 1 disabled by an operator)' });
    clock.advance(3_000);
    expect(pool.pick().id).toBe("openai/a");
  });
});
