// A rejection counts only against the key as it stood when its attempt was
// handed out. A call goes out with a key; the vendor rejects the key (another
// call's 401) and it is disabled; a probe finds it fine again and restores it;
// then the first call's 401, answered before the restore, arrives: before, it
// disabled the restored key again, until its next probe (issue 16). Every
// credential the pool hands out is stamped with the key's generation, which a
// restore (or re-creating the key under the same id) renews. A test-driven
// clock, no sleeps.
import { describe, expect, it } from "vitest";
import { createCredential } from "../../src/secrets/credential.js";
import { failure, manualClock, OK, testPool } from "./support/pool-fixtures.js";

const rejected = () => failure("credential_rejected", { status: 401, vendorCode: "invalid_api_key" });

/** Key a, disabled by a 401 and restored by its probe, while an attempt handed out before all that is still under way. */
function restoredWithAnOldAttempt() {
  const clock = manualClock();
  const fixture = testPool([{ id: "a" }], { now: clock.now, rules: { probeAfterMs: 2_000 } });
  const { pool } = fixture;
  const oldRequest = pool.pick();
  pool.report(pool.pick(), rejected()); // another call meets the rejection: a is disabled
  clock.advance(2_000);
  const probe = pool.pick();
  pool.report(probe, OK); // the key is fine again: the probe restores it
  expect(pool.get("openai/a")!.state).toBe("active");
  const changes = () => fixture.logs.entries.filter((e) => e.msg === "key state changed").map((e) => `${e.from}->${e.to}:${e.cause}`);
  return { ...fixture, clock, oldRequest, changes };
}

describe("a rejection answered late, after a probe restored the key", () => {
  it("does not disable the restored key again, and is logged as saying nothing of the key now", () => {
    const { pool, oldRequest, changes, logs } = restoredWithAnOldAttempt();
    pool.report(oldRequest, rejected());
    expect(pool.get("openai/a")!.state).toBe("active");
    expect(pool.pick().id).toBe("openai/a");
    expect(changes()).toEqual(["active->disabled:credential_rejected", "disabled->active:probe_succeeded"]);
    expect(logs.entries.some((e) => e.msg.startsWith("a rejection of an attempt sent before the key was restored") && e.credential === "openai/a")).toBe(true);
  });

  it("still counts a rejection of an attempt handed out after the restore: the key is disabled again", () => {
    const { pool, oldRequest, changes } = restoredWithAnOldAttempt();
    const newRequest = pool.pick();
    pool.report(oldRequest, rejected());
    pool.report(newRequest, rejected()); // the key really is revoked now
    expect(pool.get("openai/a")!.state).toBe("disabled");
    expect(changes()).toEqual(["active->disabled:credential_rejected", "disabled->active:probe_succeeded", "active->disabled:credential_rejected"]);
  });

  it("counts as before when reported by the key's id alone (no hand-out to date it)", () => {
    const { pool } = restoredWithAnOldAttempt();
    pool.report("openai/a", rejected());
    expect(pool.get("openai/a")!.state).toBe("disabled");
  });
});

describe("a rejection answered late, after the key was re-created under the same id", () => {
  it("does not roll back the new key", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now, random: () => 0 });
    const oldRequest = pool.pick();
    expect(oldRequest.id).toBe("openai/a");
    pool.retire("openai/a", "superseded by an operator");
    pool.forgetRetired("openai/a");
    pool.stage({ credential: createCredential("openai/a", `sk-live-a-new-${"y".repeat(24)}`), slot: "a" });
    pool.report(oldRequest, rejected()); // the old key's 401, answered late
    expect(pool.get("openai/a")!.state).toBe("standby");
  });
});
