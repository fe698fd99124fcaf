// An active key the vendor answers 404 model_not_found (or 400, …) for a model
// the other keys of its pool serve (its project lost access to the model, or
// moved) is the odd one out: benched, with a reason, a log line and a counted
// transition. The callers' truly bad requests, which reach every key by its
// share of the traffic, must never bench one: a model no key can use, 400s on
// a model every key serves, bad requests sent while another key cools down.
// Through the pool's own API, with a driven clock.
import { describe, expect, it } from "vitest";
import type { KeyPool } from "../../src/secrets/key-pool.js";
import { failure, manualClock, OK, seededRandom, testPool } from "./support/pool-fixtures.js";

const notFound = (model: string) => ({ ...failure("model_not_found", { status: 404, vendorCode: "model_not_found" }), model });
const badRequest = (model: string) => ({ ...failure("bad_request", { status: 400, vendorCode: "invalid_request_error" }), model });
const served = (model: string) => ({ ...OK, model });

async function transitions(metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } }, cause: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString("switchboard_key_transitions_total");
  return text
    .split("\n")
    .filter((line) => line.includes(`cause="${cause}"`))
    .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
}

/** `calls` calls through the pool, each answered by `answer` (given the key picked and the call's number). */
function drive(pool: KeyPool, calls: number, answer: (keyId: string, i: number) => Parameters<KeyPool["report"]>[1], advance?: () => void): void {
  for (let i = 0; i < calls; i++) {
    const picked = pool.pick();
    advance?.();
    pool.report(picked.id, answer(picked.id, i));
  }
}

const states = (pool: KeyPool) => pool.list().map((key) => `${key.id}:${key.state}`);

describe("an active key answered model_not_found where the other keys serve the model", () => {
  it("is benched as the odd one out, with a reason, a log line and a counted transition (the audit: k2 404 on every call)", async () => {
    const clock = manualClock();
    const { pool, logs, metrics, secrets } = testPool([{ id: "k1" }, { id: "k2" }], { now: clock.now, random: seededRandom(7) });
    let k2Calls = 0;
    for (let i = 0; i < 200 && pool.get("openai/k2")!.state === "active"; i++) {
      const picked = pool.pick();
      clock.advance(100);
      if (picked.id === "openai/k2") k2Calls++;
      pool.report(picked.id, picked.id === "openai/k2" ? notFound("gpt-4o-mini") : served("gpt-4o-mini"));
    }
    const k2 = pool.get("openai/k2")!;
    expect(k2).toMatchObject({ state: "cooling_down", trafficShare: 0 });
    expect(k2.reason).toMatch(
      /^answered where the other keys are served \(model_not_found for model "gpt-4o-mini" on 20 of the pool's 20, where its share of the traffic predicts 10\.0; the other keys served it \d+ times, HTTP 404\); back in 1 min$/,
    );
    expect(k2Calls).toBe(20); // 2^-20 < 1e-6: twenty in a row where a fair key would have half
    expect(pool.get("openai/k1")!.state).toBe("active");
    const benched = logs.entries.find((e) => e.msg === "key state changed" && e.credential === "openai/k2");
    expect(benched).toMatchObject({ from: "active", to: "cooling_down", cause: "odd_one_out", fingerprint: expect.any(String) });
    expect(await transitions(metrics, "odd_one_out")).toBe(1);
    for (const secret of secrets.values()) expect(logs.text).not.toContain(secret);

    // Every call goes to k1 until the bench ends (probe_after_ms); back in rotation, the next such answer benches it again.
    for (let i = 0; i < 50; i++) expect(pool.pick().id).toBe("openai/k1");
    clock.advance(60_000);
    expect(pool.list().find((key) => key.id === "openai/k2")).toMatchObject({ state: "active", reason: "back from its bench as the odd one out: the same answers bench it again" });
    pool.report("openai/k2", notFound("gpt-4o-mini"));
    expect(pool.get("openai/k2")!.state).toBe("cooling_down");
    expect(await transitions(metrics, "odd_one_out")).toBe(2);

    // Health names it for what it is, not as a key cooling down after a 429.
    pool.report("openai/k1", { ...failure("rate_limited", { status: 429, retryAfterMs: 5_000 }), model: "gpt-4o-mini" });
    expect(pool.unusableReason()).toBe("no usable key: 1 cooling down, 1 benched as the odd one out");
  });

  it("is benched when it lacks one model among several it serves", () => {
    const clock = manualClock();
    const random = seededRandom(8);
    const { pool } = testPool([{ id: "k1" }, { id: "k2" }, { id: "k3" }], { now: clock.now, random });
    const models = ["gpt-4o", "gpt-4o-mini", "o3"];
    for (let i = 0; i < 3_000 && pool.get("openai/k3")!.state === "active"; i++) {
      const picked = pool.pick();
      const model = models[i % 3]!;
      clock.advance(50);
      pool.report(picked.id, picked.id === "openai/k3" && model === "o3" ? notFound(model) : served(model));
    }
    expect(pool.get("openai/k3")).toMatchObject({ state: "cooling_down", reason: expect.stringMatching(/^answered where the other keys are served \(model_not_found for model "o3"/) });
    expect(states(pool)).toEqual(["openai/k1:active", "openai/k2:active", "openai/k3:cooling_down"]);
  });

  it("the last key in rotation is not benched", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "k1" }, { id: "k2" }], { now: clock.now, random: seededRandom(9) });
    drive(pool, 20, (id) => (id === "openai/k1" ? served("m") : notFound("m")));
    pool.disable("openai/k1", "test: out of rotation");
    for (let i = 0; i < 40; i++) pool.report("openai/k2", notFound("m"));
    expect(pool.get("openai/k2")!.state).toBe("active");
  });
});

describe("the callers' truly bad requests bench no key", () => {
  it("a model no key can use: every key answers 404 alike, and nothing is remembered of it", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const clock = manualClock();
      const requests = seededRandom(seed + 500);
      const { pool, logs } = testPool([{ id: "k1" }, { id: "k2" }], { now: clock.now, random: seededRandom(seed) });
      drive(
        pool,
        2_000,
        () => (requests() < 0.5 ? notFound("no-such-model") : served("gpt-4o-mini")),
        () => clock.advance(20),
      );
      expect(states(pool), `seed ${seed}`).toEqual(["openai/k1:active", "openai/k2:active"]);
      expect(logs.entries.filter((e) => e.cause === "odd_one_out")).toEqual([]);
      expect(pool.pickServing("no-such-model", new Set())).toBeUndefined();
    }
  });

  it("400s and 404s on a model every key serves, a quarter of the calls, over long runs", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const clock = manualClock();
      const requests = seededRandom(seed + 1_000);
      const { pool } = testPool([{ id: "k1" }, { id: "k2" }, { id: "k3", weight: 2 }], { now: clock.now, random: seededRandom(seed) });
      drive(
        pool,
        4_000,
        () => {
          const draw = requests();
          return draw < 0.15 ? badRequest("gpt-4o") : draw < 0.25 ? notFound("gpt-4o") : served("gpt-4o");
        },
        () => clock.advance(50),
      );
      expect(states(pool), `seed ${seed}`).toEqual(["openai/k1:active", "openai/k2:active", "openai/k3:active"]);
    }
  });

  it("bad requests sent while another key cools down: each answer is expected of the keys taking calls then", () => {
    const clock = manualClock();
    const { pool, logs } = testPool([{ id: "k1" }, { id: "k2" }, { id: "k3" }], { now: clock.now, random: seededRandom(11) });
    drive(pool, 300, () => served("gpt-4o"), () => clock.advance(10));
    // k3 is rate limited (a caller may be able to cause a 429); meanwhile the same caller floods k1 and k2 with bad requests.
    pool.report("openai/k3", failure("rate_limited", { status: 429, retryAfterMs: 30_000 }));
    drive(pool, 400, () => badRequest("gpt-4o"), () => clock.advance(10));
    clock.advance(30_000);
    drive(pool, 600, (_, i) => (i % 4 === 0 ? badRequest("gpt-4o") : served("gpt-4o")), () => clock.advance(10));
    expect(states(pool)).toEqual(["openai/k1:active", "openai/k2:active", "openai/k3:active"]);
    expect(logs.entries.filter((e) => e.cause === "odd_one_out")).toEqual([]);
  });
});

describe("pickServing: another key that served the model lately, for a call one key answered 404", () => {
  it("hands out a key in rotation that served the model, never one already tried; none for a model no key served, or after 10 minutes", () => {
    const clock = manualClock();
    const { pool } = testPool([{ id: "k1" }, { id: "k2" }, { id: "k3" }], { now: clock.now, random: seededRandom(12) });
    pool.report("openai/k1", served("gpt-4o-mini"));
    pool.report("openai/k3", served("o3"));
    for (let i = 0; i < 20; i++) expect(pool.pickServing("gpt-4o-mini", new Set(["openai/k2"]))?.id).toBe("openai/k1");
    expect(pool.pickServing("gpt-4o-mini", new Set(["openai/k1"]))).toBeUndefined();
    expect(pool.pickServing("no-such-model", new Set())).toBeUndefined();
    pool.disable("openai/k3", "test");
    expect(pool.pickServing("o3", new Set())).toBeUndefined();
    clock.advance(10 * 60_000);
    expect(pool.pickServing("gpt-4o-mini", new Set())).toBeUndefined();
  });
});
