// A probe the call plan picks and then drops unsent is given back to the pool
// at once (audit review2 #3). Only a probe's own handle settles it, so a
// dropped one used to hold its place until the pool gave it up as lost, a
// minute later: a rejected key (or one on probation) was not probed again for
// that long. Simulated clock (sim-dispatch.ts): no real time passes.
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { answer, fail, on, outcomes, setup, unary, type Setup } from "./sim-dispatch.js";

const PROBE_AFTER_MS = 60_000; // the pools' default probe_after_ms (sim-dispatch.ts builds them with the defaults)
const KEYS = ["primary/key-1", "primary/key-2"];

const pool = (s: Setup) => s.dispatcher.runtime("primary")!.pool;
const states = (s: Setup) => KEYS.map((id) => pool(s).get(id)!.state);

/** The vendor rejects key-1 out of band (a call answered 401): it is disabled, and due a probe after PROBE_AFTER_MS. */
function rejectKey1(s: Setup): void {
  const rejected = new UpstreamError({ kind: "credential_rejected", provider: "primary", credentialId: KEYS[0], status: 401, message: "invalid api key" });
  pool(s).report(KEYS[0]!, { ok: false, error: rejected });
  expect(states(s)).toEqual(["disabled", "active"]);
}

describe("a probe picked for a retry and dropped unsent", () => {
  it("dropped because the deadline leaves no room for the backoff: the next call probes the key at once", async () => {
    const s = setup();
    rejectKey1(s);
    s.clock.now += PROBE_AFTER_MS - 500;
    // Sent on key-2 (key-1 is not due yet); fails after 960 ms, when key-1's probe is due. The retry picks that probe,
    // and drops it: the 50 ms backoff would end at the 1 s deadline.
    s.vendor.script("m", fail("overloaded", 960));
    expect(outcomes((await unary(s, [on("primary", "m")], 1_000)).attempts)).toEqual(["primary:overloaded"]);
    // The next call, at once: key-1's probe, which succeeds and brings it back (it used to go to key-2, the probe held a minute).
    s.vendor.script("m", answer(100));
    expect(outcomes((await unary(s, [on("primary", "m")])).attempts)).toEqual(["primary:ok"]);
    expect(states(s)).toEqual(["active", "active"]);
  });

  it("dropped because the call had tried the key already: the retry after the backoff takes the probe", async () => {
    const s = setup();
    // The call meets the rejection itself on one key (the pool picks which), moves to the other, which fails once the
    // rejected key is due a probe. The retry's pick of a fresh key gets that probe, a key the call tried: dropped.
    s.vendor.script("m", fail("credential_rejected", 10), fail("overloaded", PROBE_AFTER_MS), answer(100));
    const { attempts, error } = await unary(s, [on("primary", "m")]);
    expect(error).toBeUndefined();
    expect(outcomes(attempts)).toEqual(["primary:credential_rejected", "primary:overloaded", "primary:ok"]);
    // The third attempt was the probe (it used to go to the other key while the probe's place stayed taken).
    expect(states(s)).toEqual(["active", "active"]);
  });
});
