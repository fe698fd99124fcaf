import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/load-config.js";
import { DEFAULT_TRAFFIC, type BreakerConfig } from "../../src/config/traffic.js";
import { CircuitBreaker, type BreakerState } from "../../src/gateway/circuit-breaker.js";
import { RetryBudget } from "../../src/gateway/retry-budget.js";
import { backoffMs, failureAction } from "../../src/gateway/retry-policy.js";
import { Router } from "../../src/gateway/router.js";
import { UpstreamError, type UpstreamErrorKind } from "../../src/providers/upstream-error.js";

const breakerConfig: BreakerConfig = { enabled: true, failureRate: 0.5, minCalls: 4, windowMs: 10_000, consecutiveFailures: 0, openMs: 1_000, halfOpenProbes: 1 };

function breaker() {
  const clock = { now: 0 };
  const transitions: BreakerState[] = [];
  const b = new CircuitBreaker(breakerConfig, () => clock.now, (state) => transitions.push(state));
  const call = (ok: boolean): boolean => {
    const permit = b.acquire();
    if (!permit) return false;
    if (ok) permit.success();
    else permit.failure();
    return true;
  };
  return { b, clock, transitions, call };
}

describe("circuit breaker", () => {
  it("stays closed below the minimum number of calls, or below the failure rate", () => {
    const { b, call } = breaker();
    call(false);
    call(false);
    call(false);
    expect(b.current).toBe("closed"); // 3 failures, but fewer calls than minCalls (4)
    for (let i = 0; i < 4; i++) call(true);
    call(false); // 4 of 8 failed: 50%, opens
    expect(b.current).toBe("open");
    const { b: other, call: callOther } = breaker();
    for (let i = 0; i < 6; i++) callOther(true);
    for (let i = 0; i < 5; i++) callOther(false); // 5 of 11: 45%
    expect(other.current).toBe("closed");
  });

  it("opens when the window's failure rate reaches the threshold, and refuses calls while open", () => {
    const { b, call, transitions } = breaker();
    call(true);
    call(true);
    call(false);
    expect(b.current).toBe("closed");
    call(false); // 2 of 4 failed
    expect(b.current).toBe("open");
    expect(transitions).toEqual(["open"]);
    expect(b.admits()).toBe(false);
    expect(call(true)).toBe(false);
  });

  it("opens on a run of consecutive failures before the window's rate reaches the threshold", () => {
    const clock = { now: 0 };
    const b = new CircuitBreaker({ ...breakerConfig, consecutiveFailures: 3 }, () => clock.now);
    for (let i = 0; i < 20; i++) b.acquire()!.success();
    b.acquire()!.failure();
    b.acquire()!.failure();
    b.acquire()!.success(); // the run is broken
    b.acquire()!.failure();
    b.acquire()!.failure();
    expect(b.current).toBe("closed");
    b.acquire()!.failure();
    expect(b.current).toBe("open");
  });

  it("lets one probe through after openMs; its success closes the breaker", () => {
    const { b, clock, call, transitions } = breaker();
    for (let i = 0; i < 4; i++) call(false);
    expect(b.retryAfterMs()).toBe(1_000);
    clock.now = 999;
    expect(b.admits()).toBe(false);
    clock.now = 1_000;
    expect(b.current).toBe("half_open");
    const probe = b.acquire()!;
    expect(probe).toBeDefined();
    expect(b.acquire()).toBeUndefined(); // one probe at a time
    probe.success();
    expect(b.current).toBe("closed");
    expect(transitions).toEqual(["open", "half_open", "closed"]);
    // A fresh window: one failure does not reopen it.
    call(false);
    expect(b.current).toBe("closed");
  });

  it("opens again when the probe fails, for another openMs", () => {
    const { b, clock, call, transitions } = breaker();
    for (let i = 0; i < 4; i++) call(false);
    clock.now = 1_000;
    b.acquire()!.failure();
    expect(b.current).toBe("open");
    clock.now = 1_999;
    expect(b.admits()).toBe(false);
    clock.now = 2_000;
    expect(b.admits()).toBe(true);
    expect(transitions).toEqual(["open", "half_open", "open", "half_open"]);
  });

  it("a released probe (the caller went away) frees the slot without deciding", () => {
    const { b, clock, call } = breaker();
    for (let i = 0; i < 4; i++) call(false);
    clock.now = 1_000;
    b.acquire()!.release();
    expect(b.current).toBe("half_open");
    expect(b.acquire()).toBeDefined();
  });

  it("counts one caller's timeouts once per window; other callers' timeouts and every 5xx count", () => {
    const clock = { now: 0 };
    const b = new CircuitBreaker({ ...breakerConfig, consecutiveFailures: 3 }, () => clock.now);
    for (let i = 0; i < 20; i++) b.acquire()!.timedOut("KA"); // one caller's slow requests: neither the run nor the rate
    expect(b.current).toBe("closed");
    b.acquire()!.timedOut("KB");
    expect(b.current).toBe("closed");
    b.acquire()!.timedOut("KC"); // three callers' timeouts in a row
    expect(b.current).toBe("open");

    // One gateway key for everything: the vendor's 5xx count per call.
    const single = new CircuitBreaker({ ...breakerConfig, consecutiveFailures: 3 }, () => clock.now);
    for (let i = 0; i < 3; i++) single.acquire()!.failure();
    expect(single.current).toBe("open");

    // A lone caller's timeouts count again past the window, and a half-open probe's timeout decides.
    const lone = new CircuitBreaker({ ...breakerConfig, consecutiveFailures: 3 }, () => clock.now);
    for (let i = 0; i < 3; i++) {
      clock.now += breakerConfig.windowMs;
      lone.acquire()!.timedOut("KA");
    }
    expect(lone.current).toBe("open");
    clock.now += breakerConfig.openMs;
    lone.acquire()!.timedOut("KA");
    expect(lone.current).toBe("open");
  });

  it("forgets failures older than the window", () => {
    const { b, clock, call } = breaker();
    call(false);
    call(false);
    call(false);
    clock.now = 20_000;
    call(false);
    expect(b.current).toBe("closed");
  });
});

describe("retry budget", () => {
  it("allows ratio × calls + minRetries extra attempts per provider over the window", () => {
    const clock = { now: 0 };
    const budget = new RetryBudget({ ratio: 0.2, windowMs: 10_000, minRetries: 1 }, () => clock.now);
    for (let i = 0; i < 10; i++) budget.recordCall("a");
    const allowed = Array.from({ length: 10 }, () => budget.tryRetry("a")).filter(Boolean).length;
    expect(allowed).toBe(3); // 0.2 × 10 + 1
    expect(budget.tryRetry("b")).toBe(true); // another provider has its own budget (its floor)
    expect(budget.tryRetry("b")).toBe(false);
    clock.now = 11_000; // the window slid past the retries
    expect(budget.tryRetry("a")).toBe(true);
  });
});

describe("backoff", () => {
  const retry = { ...DEFAULT_TRAFFIC.retry, baseDelayMs: 100, maxDelayMs: 1_000 };
  it("draws uniformly below an exponential ceiling (full jitter), capped", () => {
    expect(backoffMs(retry, 1, () => 0)).toBe(0);
    expect(backoffMs(retry, 1, () => 0.999)).toBe(99);
    expect(backoffMs(retry, 3, () => 0.999)).toBe(399);
    expect(backoffMs(retry, 10, () => 0.999)).toBe(999);
  });
  it("waits what the vendor asked for plus a jitter below as long again (at least the backoff's ceiling, at most max_delay_ms)", () => {
    expect(backoffMs(retry, 1, () => 0, 750)).toBe(750);
    expect(backoffMs(retry, 1, () => 0.5, 750)).toBe(750 + 375);
    expect(backoffMs(retry, 4, () => 0.999, 10)).toBe(10 + 799);
    expect(backoffMs(retry, 1, () => 0.999, 5_000)).toBe(5_000 + 999);
  });
  it("draws the jitter past the hint within half of what the caller's deadline leaves past it", () => {
    expect(backoffMs(retry, 1, () => 0.999, 750, 1_150)).toBe(750 + 199);
    expect(backoffMs(retry, 1, () => 0.999, 750, 700)).toBe(750); // the hint alone passes the deadline: the caller gives up
  });
});

describe("what follows a failure", () => {
  const err = (kind: UpstreamErrorKind) => new UpstreamError({ kind, provider: "p", message: "m" });
  it.each([
    ["bad_request", "stop"],
    ["content_filtered", "stop"],
    ["cancelled", "stop"],
    ["model_not_found", "next_candidate"],
    ["unsupported", "next_candidate"],
    ["credential_rejected", "next_key"],
    ["quota_exhausted", "next_key"],
    ["rate_limited", "retry"],
    ["overloaded", "retry"],
    ["unreachable", "retry"],
    ["timeout", "retry"],
  ] as const)("%s → %s", (kind, action) => {
    expect(failureAction(err(kind))).toBe(action);
  });
  it.each([
    ["overloaded", false, "next_key"],
    ["rate_limited", false, "next_key"],
    ["bad_request", false, "stop"],
    ["model_not_found", false, "next_candidate"],
    ["credential_rejected", false, "next_key"],
    ["bad_request", true, "retry"],
    ["content_filtered", true, "retry"],
    ["bad_response", true, "retry"],
    ["model_not_found", true, "retry"],
    ["quota_exhausted", true, "next_key"],
    ["overloaded", true, "retry"],
    ["cancelled", true, "stop"],
  ] as const)("%s with the vendor's x-should-retry: %s → %s", (kind, word, action) => {
    expect(failureAction(new UpstreamError({ kind, provider: "p", message: "m", vendorSaysRetry: word }))).toBe(action);
  });
  it("anything unclassified is never retried", () => {
    expect(failureAction(new TypeError("bug"))).toBe("stop");
  });
});

describe("fallback chains", () => {
  const config = buildConfig(
    {
      providers: {
        openai: { api_key: "env:OPENAI_API_KEY" },
        dashscope: { api_key: "env:DASHSCOPE_API_KEY" },
      },
      routes: [
        { model: "gpt-4o", provider: "openai", fallbacks: ["qwen-max", "dashscope/qwen-plus", "ernie-4.0-8k", "gpt-4o", "qwen-max"] },
        { model: "smart", provider: "openai", upstream_model: "gpt-4o", fallbacks: ["gpt-4o"] },
      ],
    },
    {},
    "test",
  );
  const router = new Router(config.routes, new Set(config.providers.map((p) => p.name)));

  it("resolves each fallback as if requested, across vendors, skipping unconfigured ones and repeats", () => {
    expect(router.resolve("gpt-4o")).toEqual([
      { provider: "openai", upstreamModel: "gpt-4o" },
      { provider: "dashscope", upstreamModel: "qwen-max" },
      { provider: "dashscope", upstreamModel: "qwen-plus" },
      // ernie-4.0-8k routes to qianfan, which is not configured here: skipped.
    ]);
  });

  it("does not follow a fallback's own fallbacks (no loops)", () => {
    expect(router.resolve("smart")).toEqual([{ provider: "openai", upstreamModel: "gpt-4o" }]);
  });

  it("a provider named by the caller gets no fallbacks", () => {
    expect(router.resolve("openai/gpt-4o")).toEqual([{ provider: "openai", upstreamModel: "gpt-4o" }]);
  });
});

describe("traffic configuration", () => {
  it("has defaults, and takes overrides field by field", () => {
    expect(buildConfig({}, {}, "t").traffic).toEqual(DEFAULT_TRAFFIC);
    const traffic = buildConfig({ traffic: { retry: { max_attempts: 1 }, breaker: { enabled: false } } }, {}, "t").traffic!;
    expect(traffic.retry).toEqual({ ...DEFAULT_TRAFFIC.retry, maxAttempts: 1 });
    expect(traffic.breaker.enabled).toBe(false);
    expect(traffic.retryBudget).toEqual(DEFAULT_TRAFFIC.retryBudget);
  });

  it("sets per-provider first-token timeouts and hedging", () => {
    const config = buildConfig(
      { providers: { local: { dialect: "openai", base_url: "http://127.0.0.1:1/v1", timeout_ms: 5_000, hedge: {} }, other: { dialect: "openai", base_url: "http://127.0.0.1:2/v1", first_token_timeout_ms: 300, hedge: { delay_ms: 250 } } } },
      {},
      "t",
    );
    const [local, other] = config.providers;
    expect(local).toMatchObject({ timeoutMs: 5_000, firstTokenTimeoutMs: 5_000, hedge: { percentile: 95, minSamples: 20 } });
    expect(other).toMatchObject({ firstTokenTimeoutMs: 300, hedge: { delayMs: 250 } });
  });
});
