// A key pool measures its durations (cool-downs, probes, drains, canary
// windows) on a monotonic clock, so that a step of the wall clock (an NTP
// step after a VM resumes, a manual correction) neither stretches nor cuts a
// bench; wall time only shows when a state began or ends (audit M3). The
// clocks are the test's: Date and performance.now() are faked, and the wall
// clock is stepped while the monotonic one goes on.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { failure, testPool } from "./support/pool-fixtures.js";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date", "performance"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("a key benched for a 429", () => {
  function benched() {
    const { pool } = testPool([{ id: "a" }, { id: "b" }]);
    pool.report("openai/a", failure("rate_limited", { status: 429, retryAfterMs: 5_000 }));
    expect(pool.get("openai/a")).toMatchObject({ state: "cooling_down", nextAt: T0 + 5_000 });
    return pool;
  }

  it("comes back after its 5 s when the wall clock steps an hour back meanwhile", () => {
    const pool = benched();
    vi.setSystemTime(T0 - HOUR);
    vi.advanceTimersByTime(4_000);
    // Shown on the wall clock as it reads now: still one second to go.
    expect(pool.get("openai/a")).toMatchObject({ state: "cooling_down", nextAt: T0 - HOUR + 5_000 });
    vi.advanceTimersByTime(1_000);
    expect(pool.list().find((key) => key.id === "openai/a")!.state).toBe("active");
  });

  it("is not cut short when the wall clock steps an hour forward", () => {
    const pool = benched();
    vi.setSystemTime(T0 + HOUR);
    for (let i = 0; i < 20; i++) expect(pool.pick().id).toBe("openai/b");
    expect(pool.list().find((key) => key.id === "openai/a")!.state).toBe("cooling_down");
    vi.advanceTimersByTime(5_000);
    expect(pool.list().find((key) => key.id === "openai/a")!.state).toBe("active");
  });
});

describe("a rejected key's probe", () => {
  it("waits probe_after_ms of monotonic time whatever the wall clock does", () => {
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { rules: { probeAfterMs: 60_000 } });
    pool.report("openai/a", failure("credential_rejected", { status: 401 }));
    vi.setSystemTime(T0 + 2 * HOUR);
    for (let i = 0; i < 20; i++) expect(pool.pick().id).toBe("openai/b");
    vi.advanceTimersByTime(60_000);
    expect(pool.pick().id).toBe("openai/a"); // the probe
  });
});
