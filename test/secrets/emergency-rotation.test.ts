// An emergency rotation: every configured key has been revoked, and the new
// key, staged as a canary, is the only one left, so it takes all the traffic.
// One call that meets a vendor blip (a 500, a refused connection) is retried
// on that same key. Before, each attempt counted as a canary error, and the
// canary was judged "worse than the active keys' 0.0%" (keys that made no
// call at all): it was rolled back, and every call failed "no usable key"
// (audit pools2 #1). Now a call counts once, and with no active traffic to
// compare with only the vendor refusing the key rolls a canary back.
// The real dispatcher and key pool, on a simulated clock; no real time passes.
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { DispatchFailure } from "../../src/gateway/dispatch-outcome.js";
import { Dispatcher } from "../../src/gateway/dispatcher.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { UpstreamErrorKind } from "../../src/providers/upstream-error.js";
import { answer, fail, on, outcomes, params, ScriptedVendor, SimClock } from "../gateway/sim-dispatch.js";
import { failure, testPool } from "./support/pool-fixtures.js";

const PROMOTE_AFTER = 20;

/** Keys a, b and c, all revoked (each was answered 401 and disabled), and the operator's new key d staged to replace a. */
function revokedPoolWithNewKey() {
  const clock = new SimClock();
  const fixture = testPool([{ id: "a" }, { id: "b" }, { id: "c" }], { now: () => clock.now, rules: { promoteAfter: PROMOTE_AFTER, probeAfterMs: 60_000 } });
  const { pool, credential, logs } = fixture;
  for (const id of ["a", "b", "c"]) pool.report(`openai/${id}`, failure("credential_rejected", { status: 401, vendorCode: "invalid_api_key" }));
  pool.stage({ credential: credential("d"), replaces: "openai/a" });
  const vendor = new ScriptedVendor("openai", clock);
  const runtime = { adapter: vendor, pool, timeoutMs: 120_000, embedBatchSize: 1 };
  const dispatcher = new Dispatcher(new Map([["openai", runtime]]), new GatewayMetrics({ defaultMetrics: false }), {
    traffic: DEFAULT_TRAFFIC,
    now: () => clock.now,
    random: () => 0.5,
    sleep: clock.sleep,
    timer: clock.timer,
  });
  let calls = 0;
  /** One caller's call to `model`: its attempts' outcomes, and which keys they went out with. */
  const call = async (model: string) => {
    const ctx: CallContext = { principal: { keyId: "caller", name: "caller", admin: false }, signal: new AbortController().signal, deadline: undefined, requestId: `call-${++calls}` };
    const keys: string[] = [];
    try {
      const { outcome } = await clock.run(dispatcher.unary([on("openai", model)], ctx, (adapter, attempt) => (keys.push(attempt.credential.id), adapter.chat({ ...attempt, params }))));
      return { attempts: outcomes(outcome.attempts), keys };
    } catch (err) {
      if (!(err instanceof DispatchFailure)) throw err;
      return { attempts: outcomes(err.outcome.attempts), keys };
    }
  };
  const served = async (n: number) => {
    for (let i = 0; i < n; i++) {
      vendor.script("gpt", answer(10));
      expect(await call("gpt")).toEqual({ attempts: ["openai:ok"], keys: ["openai/d"] });
    }
  };
  const transitions = () => logs.entries.filter((e) => e.msg === "key state changed" && e.credential === "openai/d").map((e) => `${e.from}->${e.to}:${e.cause}`);
  return { pool, vendor, call, served, transitions, clock };
}

describe("an emergency rotation: the canary is the only usable key", () => {
  for (const blip of ["overloaded", "unreachable"] satisfies UpstreamErrorKind[]) {
    it(`one call retried on it through a vendor blip (${blip}) does not roll it back; it is promoted on its successes`, async () => {
      const { pool, vendor, call, served, transitions } = revokedPoolWithNewKey();
      await served(10);
      // The vendor fails this one call on every attempt: the dispatcher retries it on the same key, the only one.
      vendor.script("blip", ...Array.from({ length: DEFAULT_TRAFFIC.retry.maxAttempts }, () => fail(blip, 5)));
      const failed = await call("blip");
      expect(failed.keys.length).toBeGreaterThanOrEqual(3);
      expect(new Set(failed.keys)).toEqual(new Set(["openai/d"]));
      expect(failed.attempts.every((a) => a === `openai:${blip}`)).toBe(true);
      expect(pool.get("openai/d")).toMatchObject({ state: "standby", canary: { successes: 10, errors: 1 } });
      // The vendor is fine again: the new key keeps serving, and is promoted once it has PROMOTE_AFTER successes.
      await served(PROMOTE_AFTER - 10);
      const promoted = pool.get("openai/d")!;
      expect(promoted.state).toBe("active");
      expect(promoted.reason).toBe(`promoted automatically: ${PROMOTE_AFTER} successful calls at an error rate of 4.8% (active keys: no calls to compare with; the vendor did not refuse it)`);
      expect(transitions()).toEqual(["none->standby:staged", "standby->active:auto_promoted"]);
    });
  }

  it("several calls failing at the vendor do not roll it back either: what any key would meet says nothing of this one", async () => {
    const { pool, vendor, call, served, clock } = revokedPoolWithNewKey();
    for (let i = 0; i < 3; i++) {
      vendor.script(`blip-${i}`, ...Array.from({ length: DEFAULT_TRAFFIC.retry.maxAttempts }, () => fail("overloaded", 5)));
      expect((await call(`blip-${i}`)).attempts).toContain("openai:overloaded");
    }
    expect(pool.get("openai/d")).toMatchObject({ state: "standby", canary: { successes: 0, errors: 3 } });
    clock.now += DEFAULT_TRAFFIC.breaker.openMs; // the provider's breaker, opened by those failures, lets calls through again
    await served(PROMOTE_AFTER);
    expect(pool.get("openai/d")!.state).toBe("active");
  });

  it("the vendor refusing the new key still rolls it back at once", async () => {
    const { pool, vendor, call } = revokedPoolWithNewKey();
    vendor.script("gpt", fail("credential_rejected", 5));
    await call("gpt");
    expect(pool.get("openai/d")).toMatchObject({ state: "retired" });
    expect(pool.get("openai/d")!.reason).toMatch(/^canary failed: rejected by the vendor/);
  });
});
