import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { KeyPoolError } from "../../src/secrets/key-pool.js";
import { failure, manualClock, OK, seededRandom, tally, testPool } from "./support/pool-fixtures.js";

const ids = (counts: Map<string, number>) => [...counts.keys()].sort();

async function metricValue(metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } }, name: string, labels: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.split(",").every((label) => l.includes(label)));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("picking keys", () => {
  it("shares the traffic by weight among the active keys", () => {
    const { pool } = testPool([{ id: "a", weight: 3 }, { id: "b", weight: 1 }], { random: seededRandom(1) });
    const counts = tally(pool, 4000);
    expect(counts.get("openai/a")! / 4000).toBeCloseTo(0.75, 1);
    expect(counts.get("openai/b")! / 4000).toBeCloseTo(0.25, 1);
  });

  it("skips keys already tried while others remain, and hands back a tried one when none does", () => {
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { random: seededRandom(2) });
    for (let i = 0; i < 50; i++) expect(pool.pick(new Set(["openai/a"])).id).toBe("openai/b");
    // The dispatcher sees the key is in its exclude set and decides whether to retry on it.
    const again = pool.pick(new Set(["openai/a", "openai/b"]));
    expect(["openai/a", "openai/b"]).toContain(again.id);
  });
});

describe("a 429 cools the key down for the vendor's retry-after", () => {
  it("takes the key out of rotation, then back in, and logs and counts both changes", async () => {
    const clock = manualClock();
    const { pool, logs, metrics } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(3) });
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 2_000 }));
    const cooling = pool.get("openai/a")!;
    expect(cooling.state).toBe("cooling_down");
    expect(cooling.nextAt).toBe(clock.now() + 2_000);
    expect(cooling.trafficShare).toBe(0);
    expect(ids(tally(pool, 200))).toEqual(["openai/b"]);

    clock.advance(2_001);
    expect(pool.get("openai/a")!.state).toBe("cooling_down"); // a read changes nothing…
    expect(ids(tally(pool, 200))).toEqual(["openai/a", "openai/b"]); // …the next pick applies the end of the cool-down
    expect(pool.get("openai/a")!.state).toBe("active");

    const changes = logs.entries.filter((e) => e.msg === "key state changed" && e.credential === "openai/a");
    expect(changes.map((e) => [e.from, e.to, e.cause])).toEqual([
      ["active", "cooling_down", "rate_limited"],
      ["cooling_down", "active", "cooldown_ended"],
    ]);
    expect(changes[0]!.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(await metricValue(metrics, "switchboard_key_transitions_total", 'to="cooling_down",cause="rate_limited"')).toBe(1);
  });

  it("uses the configured cool-down when the vendor gives no retry-after, and extends a running one", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, rules: { cooldownMs: 7_000 } });
    pool.report("openai/a", failure("rate_limited", { status: 429 }));
    expect(pool.get("openai/a")!.nextAt).toBe(clock.now() + 7_000);
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 20_000 }));
    expect(pool.get("openai/a")!.nextAt).toBe(clock.now() + 20_000);
  });

  it("fails fast with rate_limited and the soonest retry when every key is cooling down", () => {
    const clock = manualClock();
    const { pool, secrets } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 5_000 }));
    pool.report("openai/b", failure("rate_limited", { status: 429, retryAfterMs: 3_000 }));
    const err = catchError(() => pool.pick());
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.kind).toBe("rate_limited");
    expect(err.retryAfterMs).toBe(3_000);
    expect(err.message).toBe('provider "openai" has no usable key right now (2 cooling down)');
    for (const secret of secrets.values()) expect(err.message).not.toContain(secret);
    clock.advance(3_000);
    expect(pool.pick().id).toBe("openai/b");
  });

  it("caps the cool-down at max_cooldown_ms; 0 never benches a key (every call reaches the vendor)", () => {
    const clock = manualClock();
    const capped = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, rules: { maxCooldownMs: 60_000 } }).pool;
    capped.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 3_600_000 }));
    expect(capped.get("openai/a")!.nextAt).toBe(clock.now() + 60_000);
    const never = testPool([{ id: "a" }], { now: clock.now, rules: { maxCooldownMs: 0, probeAfterMs: 0 } }).pool;
    never.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 7_000 }));
    never.report("openai/a", failure("quota_exhausted", { status: 429 }));
    expect(never.get("openai/a")!.state).toBe("active");
    expect(never.pick().id).toBe("openai/a");
    never.report("openai/a", failure("credential_rejected", { status: 401 }));
    expect(never.pick().id).toBe("openai/a"); // probed on the next call
  });
});

describe("a credential rejection disables the key; probes bring it back", () => {
  it("disables the key, logs and counts the rejection, and probes it once after the wait", async () => {
    const clock = manualClock();
    const { pool, logs, metrics } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(4), rules: { probeAfterMs: 60_000 } });
    pool.report("openai/b", failure("credential_rejected", { status: 401, vendorCode: "invalid_api_key" }));
    const disabled = pool.get("openai/b")!;
    expect(disabled.state).toBe("disabled");
    expect(disabled.reason).toContain("rejected by the vendor (HTTP 401, invalid_api_key)");
    expect(disabled.nextAt).toBe(clock.now() + 60_000);
    expect(ids(tally(pool, 100))).toEqual(["openai/a"]);
    expect(logs.entries.some((e) => e.msg === "the vendor rejected a key" && e.credential === "openai/b")).toBe(true);
    expect(await metricValue(metrics, "switchboard_key_credential_rejections_total", 'credential="openai/b"')).toBe(1);

    clock.advance(60_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/b"); // the probe (half-open)
    expect(ids(tally(pool, 50))).toEqual(["openai/a"]); // one probe at a time
    pool.report(probe, OK); // its outcome is reported with the credential it went out with
    expect(pool.get("openai/b")!.state).toBe("active");
    expect(logs.entries.some((e) => e.cause === "probe_succeeded" && e.credential === "openai/b")).toBe(true);
  });

  it("backs off when a probe is rejected again", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(5), rules: { probeAfterMs: 10_000 } });
    pool.report("openai/b", failure("credential_rejected", { status: 403 }));
    clock.advance(10_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/b");
    pool.report(probe, failure("credential_rejected", { status: 403 }));
    expect(pool.get("openai/b")!.state).toBe("disabled");
    expect(pool.get("openai/b")!.nextAt).toBe(clock.now() + 20_000);
  });

  it("Gemini's API_KEY_INVALID (a 400) counts as a rejection, a caller's bad request does not", () => {
    const { pool } = testPool([{ id: "a" }, { id: "b" }]);
    pool.report("openai/a", failure("bad_request", { status: 400 }));
    expect(pool.get("openai/a")).toMatchObject({ state: "active", recentErrors: 0 });
    // The Gemini adapter maps 400 + API_KEY_INVALID to credential_rejected (test/providers/gemini.test.ts).
    pool.report("openai/b", failure("credential_rejected", { status: 400, vendorCode: "API_KEY_INVALID" }));
    expect(pool.get("openai/b")).toMatchObject({ state: "disabled", recentErrors: 1 });
  });

  it("a base URL the server does not serve (endpoint_not_found) is no error of the key's: every key meets it alike", () => {
    const { pool } = testPool([{ id: "a" }]);
    pool.report("openai/a", failure("endpoint_not_found", { status: 404 }));
    expect(pool.get("openai/a")).toMatchObject({ state: "active", recentErrors: 0 });
  });

  it("with every key rejected, fails fast with credential_rejected until the next probe", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }], { now: clock.now, rules: { probeAfterMs: 30_000 } });
    pool.report("openai/a", failure("credential_rejected", { status: 401 }));
    const err = catchError(() => pool.pick());
    expect(err.kind).toBe("credential_rejected");
    expect(err.retryAfterMs).toBe(30_000);
    expect(err.message).toBe('provider "openai" has no usable key right now (1 disabled by the vendor)');
    clock.advance(30_000);
    const probe = pool.pick();
    expect(probe.id).toBe("openai/a"); // the probe
    pool.report(probe, OK); // the vendor took it again (a transient rejection)
    expect(pool.get("openai/a")!.state).toBe("active");
  });

  it("an operator's disable is for good: no probe brings the key back", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(6) });
    pool.disable("openai/b", "leaked in a log");
    clock.advance(24 * 60 * 60_000);
    expect(ids(tally(pool, 200))).toEqual(["openai/a"]);
    pool.disable("openai/a");
    const err = catchError(() => pool.pick());
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.kind).toBe("credential_rejected");
    // No vendor rejected either key: not UPSTREAM_CREDENTIAL_REJECTED, and the message says whose doing it is.
    expect(err.reason).toBe("NO_PROVIDER_AVAILABLE");
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toBe(
      'provider "openai" has no usable key right now (2 disabled by an operator): operators disabled or rotated out every key, the vendor rejected none; stage one with AdminService.StageKey',
    );
  });
});

describe("canaries", () => {
  it("a staged canary gets its share of the traffic (10% by default)", () => {
    const { pool, credential } = testPool([{ id: "a" }, { id: "b" }], { random: seededRandom(7), rules: { promoteAfter: 1_000_000 } });
    const staged = pool.stage({ credential: credential("c"), weight: 1, replaces: "openai/a" });
    expect(staged).toMatchObject({ state: "standby", trafficShare: 0.1 });
    expect(pool.get("openai/a")!.trafficShare).toBeCloseTo(0.45);
    const counts = tally(pool, 10_000);
    expect(counts.get("openai/c")! / 10_000).toBeCloseTo(0.1, 1.5);
  });

  it("is promoted after N successes at an error rate no worse than the active keys'; the replaced key drains, then retires", () => {
    const clock = manualClock();
    const { pool, credential, logs } = testPool([{ id: "a", weight: 2 }, { id: "b" }], {
      now: clock.now,
      random: seededRandom(8),
      drainMs: 5_000,
      rules: { promoteAfter: 10, canaryShare: 0.2 },
    });
    pool.stage({ credential: credential("a2"), replaces: "openai/a" });
    let canaryCalls = 0;
    tally(pool, 500, (picked) => {
      if (picked.id === "openai/a2") canaryCalls++;
      pool.report(picked.id, OK);
    });
    expect(canaryCalls).toBeGreaterThanOrEqual(10);
    const promoted = pool.get("openai/a2")!;
    expect(promoted.state).toBe("active");
    expect(promoted.weight).toBe(2); // the replaced key's weight
    expect(promoted.reason).toMatch(/^promoted automatically: 10 successful calls/);
    expect(pool.get("openai/a")!.state).toBe("draining");
    expect(ids(tally(pool, 300))).toEqual(["openai/a2", "openai/b"]);
    clock.advance(5_000);
    pool.pick();
    expect(pool.get("openai/a")!.state).toBe("retired");
    const causes = logs.entries.filter((e) => e.msg === "key state changed").map((e) => `${e.credential}:${e.from}->${e.to}:${e.cause}`);
    expect(causes).toEqual(["openai/a2:none->standby:staged", "openai/a2:standby->active:auto_promoted", "openai/a:active->draining:replaced", "openai/a:draining->retired:drained"]);
  });

  it("is not promoted while its error rate is worse, and is rolled back after enough errors", () => {
    const { pool, credential } = testPool([{ id: "a" }], { random: seededRandom(9), rules: { promoteAfter: 5, rollbackAfterErrors: 3 } });
    pool.stage({ credential: credential("a2"), weight: 1, share: 0.5, replaces: "openai/a" });
    let canaryErrors = 0;
    for (let i = 0; i < 400 && pool.get("openai/a2")!.state === "standby"; i++) {
      const picked = pool.pick();
      // The canary fails one call in three (the vendor is overloaded for it); the active key never fails.
      if (picked.id === "openai/a2" && i % 3 === 0) {
        canaryErrors++;
        pool.report(picked.id, failure("overloaded", { status: 503 }));
      } else {
        pool.report(picked.id, OK);
      }
    }
    expect(canaryErrors).toBe(3);
    const rolledBack = pool.get("openai/a2")!;
    expect(rolledBack.state).toBe("retired");
    expect(rolledBack.reason).toMatch(/^rolled back automatically: error rate .* after 3 errors, worse than the active keys' 0\.0%/);
    expect(pool.get("openai/a")!.state).toBe("active");
  });

  it("is rolled back at once when the vendor rejects it; the active keys keep all the traffic", async () => {
    const { pool, credential, metrics } = testPool([{ id: "a" }], { random: seededRandom(10) });
    pool.stage({ credential: credential("bad"), weight: 1, share: 0.5, replaces: "openai/a" });
    for (let i = 0; i < 20 && pool.get("openai/bad")!.state === "standby"; i++) {
      const picked = pool.pick();
      pool.report(picked.id, picked.id === "openai/bad" ? failure("credential_rejected", { status: 401 }) : OK);
    }
    expect(pool.get("openai/bad")).toMatchObject({ state: "retired", reason: "canary failed: rejected by the vendor (HTTP 401)" });
    expect(ids(tally(pool, 100))).toEqual(["openai/a"]);
    expect(await metricValue(metrics, "switchboard_key_transitions_total", 'from="standby",to="retired",cause="auto_rolled_back"')).toBe(1);
  });

  it("carries all the traffic when no active key is left", () => {
    const { pool, credential } = testPool([{ id: "a" }], { random: seededRandom(11) });
    pool.stage({ credential: credential("a2"), weight: 1, replaces: "openai/a" });
    pool.disable("openai/a");
    expect(pool.get("openai/a2")!.trafficShare).toBe(1);
    expect(ids(tally(pool, 50))).toEqual(["openai/a2"]);
  });

  it("refuses what would be a mistake: a duplicate id, a secret already in the pool, a second canary for a slot", () => {
    const { pool, credential } = testPool([{ id: "a" }]);
    const code = (action: () => unknown) => (catchError(action) as unknown as KeyPoolError).code;
    expect(code(() => pool.stage({ credential: credential("a"), weight: 1 }))).toBe("already_exists");
    const twin = credential("a");
    expect(code(() => pool.stage({ credential: { ...twin, id: "openai/again", secret: twin.secret, fingerprint: twin.fingerprint }, weight: 1 }))).toBe("already_exists");
    pool.stage({ credential: credential("n1"), weight: 1, slot: "a", replaces: "openai/a" });
    expect(code(() => pool.stage({ credential: credential("n2"), weight: 1, slot: "a" }))).toBe("failed_precondition");
    // A newer Vault version supersedes the canary of its slot.
    pool.stage({ credential: credential("n3"), weight: 1, slot: "a", replaces: "openai/a", supersede: true });
    expect(pool.get("openai/n1")).toMatchObject({ state: "retired", reason: 'superseded by "openai/n3"' });
    expect(code(() => pool.promote("openai/a"))).toBe("failed_precondition");
    expect(code(() => pool.rollback("openai/nope"))).toBe("not_found");
  });
});

describe("secrets stay inside", () => {
  it("no log line, view or error holds a secret", () => {
    const clock = manualClock();
    const { pool, credential, logs, secrets } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: seededRandom(12) });
    pool.stage({ credential: credential("c"), weight: 1, replaces: "openai/a" });
    pool.report("openai/a", failure("rate_limited", { status: 429 }));
    pool.report("openai/b", failure("credential_rejected", { status: 401 }));
    pool.promote("openai/c");
    pool.disable("openai/c");
    const error = catchError(() => pool.pick());
    const everything = [logs.text, JSON.stringify(pool.list()), error.message, JSON.stringify(error), String(pool.get("openai/c"))].join("\n");
    expect(logs.lines.length).toBeGreaterThan(5);
    for (const secret of secrets.values()) expect(everything).not.toContain(secret);
  });
});

function catchError(action: () => unknown): UpstreamError {
  try {
    action();
  } catch (err) {
    return err as UpstreamError;
  }
  throw new Error("nothing was thrown");
}
