// The dispatcher with an injected clock, jitter and sleep: breakers that open
// and close, a vendor key its pool benches, backoffs and vendor hints,
// deadlines, and what the ledger hears.
// Real adapters call fake vendors on loopback; only time is simulated.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ProviderConfig } from "../../src/config/config.js";
import { DEFAULT_TRAFFIC, type TrafficConfig } from "../../src/config/traffic.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import type { CallHooks, CallOutcome } from "../../src/gateway/call-hooks.js";
import { Dispatcher, type ProviderRuntime } from "../../src/gateway/dispatcher.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { Router } from "../../src/gateway/router.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createAdapter } from "../../src/providers/registry.js";
import { createCredential } from "../../src/secrets/credential.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { KeyPool } from "../../src/secrets/key-pool.js";
import type { Scripted } from "../fakes/fake-server.js";
import { rateLimited, startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";

const clock = { now: 1_700_000_000_000 };
const overloaded: Scripted = { kind: "error", status: 503, body: { error: { message: "overloaded", type: "server_error" } } };

let primary: OpenAIFake;
let backup: OpenAIFake;
let gemini: GeminiFake;
beforeAll(async () => {
  primary = await startOpenAIFake({ apiKey: "sk-primary", extraKeys: ["sk-primary-sick"] });
  backup = await startOpenAIFake({ apiKey: "sk-backup" });
  gemini = await startGeminiFake({ apiKey: "AIzaGemini" });
});
afterAll(async () => {
  await primary.close();
  await backup.close();
  await gemini.close();
});

function runtime(name: string, dialect: string, baseUrl: string, secret: string): ProviderRuntime {
  const config: ProviderConfig = { name, dialect, baseUrl, keys: [], headers: {}, timeoutMs: 5_000, embedBatchSize: 2048 };
  return {
    adapter: createAdapter(config),
    pool: new KeyPool(name, [{ credential: createCredential(`${name}/key-1`, secret), weight: 1 }], { now: () => clock.now }),
    timeoutMs: 5_000,
    embedBatchSize: config.embedBatchSize,
  };
}

interface Harness {
  gateway: Gateway;
  providers: Map<string, ProviderRuntime>;
  metrics: GatewayMetrics;
  sleeps: number[];
  settled: CallOutcome[];
  ctx(deadlineInMs?: number): CallContext;
  close(): Promise<void>;
}

/** A gateway whose dispatcher runs on the test's clock; its sleeps advance the clock instead of waiting. */
function harness(traffic: Partial<TrafficConfig>, routes: { model: string; provider: string; fallbacks?: string[] }[], names: string[] = ["primary", "backup"]): Harness {
  const all: Record<string, () => ProviderRuntime> = {
    primary: () => runtime("primary", "openai", primary.baseUrl, "sk-primary"),
    backup: () => runtime("backup", "openai", backup.baseUrl, "sk-backup"),
    gemini: () => runtime("gemini", "gemini", gemini.baseUrl, "AIzaGemini"),
  };
  const providers = new Map(names.map((name) => [name, all[name]!()]));
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const sleeps: number[] = [];
  const dispatcher = new Dispatcher(providers, metrics, {
    traffic: { ...DEFAULT_TRAFFIC, ...traffic },
    now: () => clock.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
      return true;
    },
  });
  const settled: CallOutcome[] = [];
  const hooks: CallHooks = { admit: async (request) => ({ candidates: request.candidates, skipped: [], downgraded: false, settle: (outcome) => settled.push(outcome) }) };
  const gateway = new Gateway({ router: new Router(routes, new Set(providers.keys())), dispatcher, providers, logger: createLogger("silent"), hooks });
  return {
    gateway,
    providers,
    metrics,
    sleeps,
    settled,
    ctx: (deadlineInMs) => ({
      principal: { keyId: "test", name: "test", admin: false },
      signal: new AbortController().signal,
      deadline: deadlineInMs === undefined ? undefined : clock.now + deadlineInMs,
      requestId: "req",
    }),
    close: () => gateway.close(),
  };
}

const chat = (model = "gpt-4o-mini") => create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }] });
const outcomes = (attempts: { provider: string; outcome: string }[]) => attempts.map((a) => `${a.provider}:${a.outcome}`);

async function transitions(metrics: GatewayMetrics, name: string): Promise<string[]> {
  const metric = await metrics.breakerTransitions.get();
  return metric.values.filter((v) => v.labels.scope === "provider" && v.labels.name === name && v.value > 0).map((v) => `${v.labels.state}=${v.value}`);
}

beforeEach(() => {
  clock.now += 3_600_000; // every test starts with windows and cool-downs of earlier tests long gone
});

describe("circuit breakers", () => {
  const breaker = { ...DEFAULT_TRAFFIC.breaker, minCalls: 3, failureRate: 0.5, openMs: 1_000, windowMs: 60_000 };
  const retry = { ...DEFAULT_TRAFFIC.retry, attemptsPerCandidate: 1 };

  it("open on failures, skip their candidate at once, let a probe through after open_ms, and close on its success", async () => {
    const h = harness({ breaker, retry }, [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["backup/gpt-4o-mini"] }]);
    try {
      for (let i = 0; i < 3; i++) {
        primary.enqueue(overloaded);
        const res = await h.gateway.chat(chat(), h.ctx());
        expect(res.provider).toBe("backup");
        expect(outcomes(res.attempts)).toEqual(["primary:overloaded", "backup:ok"]);
      }
      // Open: the primary is skipped without a call.
      const sent = primary.requests.length;
      const skipped = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(skipped.attempts)).toEqual(["primary:circuit_open", "backup:ok"]);
      expect(primary.requests.length).toBe(sent);
      // The ledger row records the same attempts and the candidate that served.
      const row = h.settled.at(-1)!;
      expect(row.served).toEqual({ provider: "backup", upstreamModel: "gpt-4o-mini" });
      expect(outcomes(row.attempts)).toEqual(["primary:circuit_open", "backup:ok"]);

      clock.now += 1_000;
      const probed = await h.gateway.chat(chat(), h.ctx());
      expect(probed.provider).toBe("primary");
      expect(outcomes(probed.attempts)).toEqual(["primary:ok"]);
      const after = await h.gateway.chat(chat(), h.ctx());
      expect(after.provider).toBe("primary");
      expect(await transitions(h.metrics, "primary")).toEqual(["open=1", "half_open=1", "closed=1"]);
    } finally {
      await h.close();
    }
  });

  it("a failed probe opens the breaker again; with nothing else to try the caller gets CIRCUIT_OPEN and when to come back", async () => {
    const h = harness({ breaker, retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue(overloaded, overloaded, overloaded);
      for (let i = 0; i < 3; i++) expect((await failure(h.gateway.chat(chat(), h.ctx()))).code).toBe(Code.Unavailable);
      const sent = primary.requests.length;
      const open = await failure(h.gateway.chat(chat(), h.ctx()));
      expect(open.code).toBe(Code.Unavailable);
      expect(open.findDetails(ErrorInfoSchema)[0]?.reason).toBe("CIRCUIT_OPEN");
      expect(Number(open.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBe(1);
      expect(primary.requests.length).toBe(sent);
      // Nothing was sent, yet the call was for the primary: the ledger row and the call log name it, as the error does.
      expect(h.settled.at(-1)!.lastTried).toMatchObject({ provider: "primary", upstreamModel: "gpt-4o-mini" });

      clock.now += 1_000;
      primary.enqueue(overloaded);
      expect((await failure(h.gateway.chat(chat(), h.ctx()))).findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_OVERLOADED");
      expect(primary.requests.length).toBe(sent + 1);
      expect((await failure(h.gateway.chat(chat(), h.ctx()))).findDetails(ErrorInfoSchema)[0]?.reason).toBe("CIRCUIT_OPEN");
      expect(await transitions(h.metrics, "primary")).toEqual(["open=2", "half_open=1"]);
    } finally {
      await h.close();
    }
  });

  it("the caller's own errors do not open a breaker", async () => {
    const h = harness({ breaker, retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      const bad: Scripted = { kind: "error", status: 400, body: { error: { message: "bad", type: "invalid_request_error" } } };
      primary.enqueue(bad, bad, bad, bad);
      for (let i = 0; i < 4; i++) expect((await failure(h.gateway.chat(chat(), h.ctx()))).code).toBe(Code.InvalidArgument);
      expect((await h.gateway.chat(chat(), h.ctx())).provider).toBe("primary");
    } finally {
      await h.close();
    }
  });
});

describe("backoff and the vendor's hints", () => {
  const retry = { ...DEFAULT_TRAFFIC.retry, attemptsPerCandidate: 4, maxAttempts: 4, baseDelayMs: 100 };

  it("backs off exponentially with full jitter between retries", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue(overloaded, overloaded, overloaded);
      const res = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:overloaded", "primary:overloaded", "primary:overloaded", "primary:ok"]);
      expect(h.sleeps).toEqual([50, 100, 200]); // half (the jitter drawn) of 100, 200, 400
    } finally {
      await h.close();
    }
  });

  it("waits what retry-after-ms asks plus a jitter, then retries the same key once its cool-down is over", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue({ kind: "error", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after-ms": "1500", "retry-after": "2" } });
      const res = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:rate_limited", "primary:ok"]);
      expect(h.sleeps).toEqual([1_500 + 750]); // the hint, and half (the jitter drawn) of as long again
    } finally {
      await h.close();
    }
  });

  it("waits what Gemini's RetryInfo asks plus a jitter", async () => {
    const h = harness({ retry }, [{ model: "gemini-2.0-flash", provider: "gemini" }], ["gemini"]);
    try {
      gemini.enqueue(rateLimited("1.2s"));
      const res = await h.gateway.chat(chat("gemini-2.0-flash"), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["gemini:rate_limited", "gemini:ok"]);
      expect(h.sleeps).toEqual([1_200 + 600]);
    } finally {
      await h.close();
    }
  });

  it("a call that finds the pool's keys cooling down for a short while waits for them (retries on), or fails at once (retries off)", async () => {
    /** A pool that has no key to hand out until `until`, as a pool does while its keys cool down after 429s. */
    class CoolingPool extends KeyPool {
      until = 0;
      override pick(exclude?: ReadonlySet<string>) {
        if (clock.now < this.until) throw new UpstreamError({ kind: "rate_limited", provider: this.provider, message: "keys cooling down", retryAfterMs: this.until - clock.now });
        return super.pick(exclude);
      }
    }
    const pool = new CoolingPool("primary", [{ credential: createCredential("primary/key-1", "sk-primary"), weight: 1 }]);
    for (const maxAttempts of [4, 1]) {
      const h = harness({ retry: { ...retry, maxAttempts } }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
      try {
        h.providers.get("primary")!.pool = pool;
        pool.until = clock.now + 300;
        if (maxAttempts === 1) {
          expect((await failure(h.gateway.chat(chat(), h.ctx()))).code).toBe(Code.ResourceExhausted);
          expect(h.sleeps).toEqual([]);
          continue;
        }
        const res = await h.gateway.chat(chat(), h.ctx());
        expect(outcomes(res.attempts)).toEqual(["primary:keys_unavailable", "primary:ok"]);
        expect(h.sleeps).toEqual([300 + 150]); // the cool-down, and half (the jitter drawn) of as long again
      } finally {
        await h.close();
      }
    }
  });

  it("does not start a retry that cannot happen before the caller's deadline: the vendor's answer goes back at once", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue({ kind: "error", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after-ms": "1500" } });
      const sent = primary.requests.length;
      const err = await failure(h.gateway.chat(chat(), h.ctx(1_000)));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(h.sleeps).toEqual([]);
      expect(primary.requests.length).toBe(sent + 1);
    } finally {
      await h.close();
    }
  });

  it("a rate-limited candidate whose hint is too long fails over to the next one at once", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["backup/gpt-4o-mini"] }]);
    try {
      primary.enqueue({ kind: "error", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after": "20" } });
      const res = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:rate_limited", "backup:ok"]);
      expect(h.sleeps).toEqual([]);
    } finally {
      await h.close();
    }
  });

  const shouldRetry = (status: number, word: "true" | "false"): Scripted => ({ kind: "error", status, body: { error: { message: "m", type: status >= 500 ? "server_error" : "invalid_request_error" } }, headers: { "x-should-retry": word } });

  it("x-should-retry: false keeps a retryable failure off the same key: the next candidate serves, or the answer goes back at once", async () => {
    const failover = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["backup/gpt-4o-mini"] }]);
    try {
      primary.enqueue(shouldRetry(503, "false"));
      const res = await failover.gateway.chat(chat(), failover.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:overloaded", "backup:ok"]);
    } finally {
      await failover.close();
    }
    const alone = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue(shouldRetry(503, "false"));
      const sent = primary.requests.length;
      const err = await failure(alone.gateway.chat(chat(), alone.ctx()));
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_OVERLOADED");
      expect(primary.requests.length).toBe(sent + 1);
      expect(alone.sleeps).toEqual([]);
    } finally {
      await alone.close();
    }
  });

  it("x-should-retry: true retries a failure its kind would not (a 400)", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    try {
      primary.enqueue(shouldRetry(400, "true"));
      const res = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:bad_request", "primary:ok"]);
    } finally {
      await h.close();
    }
  });

  it("a candidate whose pool has no key to hand out is skipped at once", async () => {
    const h = harness({ retry }, [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["backup/gpt-4o-mini"] }]);
    try {
      h.providers.get("primary")!.pool.disable("primary/key-1", "test: taken out of rotation");
      const sent = primary.requests.length;
      const res = await h.gateway.chat(chat(), h.ctx());
      expect(outcomes(res.attempts)).toEqual(["primary:keys_unavailable", "backup:ok"]);
      expect(primary.requests.length).toBe(sent);
    } finally {
      await h.close();
    }
  });
});

describe("a vendor key that keeps failing", () => {
  const breaker = { ...DEFAULT_TRAFFIC.breaker, consecutiveFailures: 3, openMs: 1_000 };

  it("is benched by its pool after the threshold: calls skip it and succeed on the pool's other key, until a probe finds it healthy", async () => {
    const h = harness({ breaker }, [{ model: "gpt-4o-mini", provider: "primary" }], ["primary"]);
    const sentWith = (key: string) => primary.requests.filter((r) => r.headers.authorization === `Bearer ${key}`).length;
    primary.failKey("sk-primary-sick", overloaded);
    try {
      // Two keys on one account; random 0 always picks the first by weight: the sick one, while it is in rotation.
      const pool = new KeyPool(
        "primary",
        [
          { credential: createCredential("primary/sick", "sk-primary-sick"), weight: 1 },
          { credential: createCredential("primary/good", "sk-primary"), weight: 1 },
        ],
        { now: () => clock.now, random: () => 0, breaker },
      );
      h.providers.get("primary")!.pool = pool;
      for (let i = 0; i < 3; i++) expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:overloaded", "primary:ok"]);
      expect(pool.get("primary/sick")).toMatchObject({ state: "cooling_down", reason: "failing at the vendor (3 failures in a row); back in 1s" });

      const sick = sentWith("sk-primary-sick");
      for (let i = 0; i < 5; i++) expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:ok"]);
      expect(sentWith("sk-primary-sick")).toBe(sick);

      // Back on probation after open_ms: its one probe fails, and it is benched again at once.
      clock.now += 1_000;
      expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:overloaded", "primary:ok"]);
      expect(pool.get("primary/sick")!.state).toBe("cooling_down");
      expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:ok"]);
      expect(sentWith("sk-primary-sick")).toBe(sick + 1);

      // The vendor serves the key again: the next probe succeeds and the key is back in rotation.
      primary.failKey("sk-primary-sick", undefined);
      clock.now += 1_000;
      for (let i = 0; i < 3; i++) expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:ok"]);
      expect(sentWith("sk-primary-sick")).toBe(sick + 4);
      expect(pool.get("primary/sick")!.state).toBe("active");
      // The provider's own breaker never opened: the vendor was serving the other key all along.
      expect(await transitions(h.metrics, "primary")).toEqual([]);
    } finally {
      primary.failKey("sk-primary-sick", undefined);
      await h.close();
    }
  });
});

describe("a vendor key whose project cannot use the model", () => {
  const modelNotFound: Scripted = {
    kind: "error",
    status: 404,
    body: { error: { message: "The model `gpt-4o-mini` does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: "model_not_found" } },
  };

  it("its 404s are retried once on the pool's key that serves the model, and it is benched as the odd one out; a model no key serves is not retried", async () => {
    const h = harness({}, [
      { model: "gpt-4o-mini", provider: "primary" },
      { model: "no-such-model", provider: "primary" },
    ], ["primary"]);
    const sentWith = (key: string) => primary.requests.filter((r) => r.headers.authorization === `Bearer ${key}`).length;
    primary.failKey("sk-primary-sick", modelNotFound);
    try {
      // The test says which key the pool picks first (the audit: k2 moved to a project without the model).
      let sickFirst = true;
      const pool = new KeyPool(
        "primary",
        [
          { credential: createCredential("primary/sick", "sk-primary-sick"), weight: 1 },
          { credential: createCredential("primary/good", "sk-primary"), weight: 1 },
        ],
        { now: () => clock.now, random: () => (sickFirst ? 0 : 0.99) },
      );
      h.providers.get("primary")!.pool = pool;
      // Before any key served the model, nothing says the sick key is the odd one: its 404 is the caller's.
      expect((await failure(h.gateway.chat(chat(), h.ctx()))).findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_MODEL_NOT_FOUND");
      sickFirst = false;
      expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:ok"]);
      // From then on every call is answered: the sick key's 404 goes to the good key at once.
      const seen = new Set<string>();
      for (let i = 0; i < 60 && pool.get("primary/sick")!.state === "active"; i++) {
        sickFirst = i % 2 === 0;
        clock.now += 1_000; // a call a second: within the retry budget (a fifth of the calls, plus 10, over 10 s)
        const res = await h.gateway.chat(chat(), h.ctx());
        expect(res.message?.content).toBe("Echo: hi");
        seen.add(outcomes(res.attempts).join(","));
      }
      expect([...seen].sort()).toEqual(["primary:model_not_found,primary:ok", "primary:ok"]);
      expect(pool.get("primary/sick")).toMatchObject({ state: "cooling_down", reason: expect.stringMatching(/^answered where the other keys are served \(model_not_found for model "gpt-4o-mini"/) });
      const sick = sentWith("sk-primary-sick");
      for (let i = 0; i < 5; i++) expect(outcomes((await h.gateway.chat(chat(), h.ctx())).attempts)).toEqual(["primary:ok"]);
      expect(sentWith("sk-primary-sick")).toBe(sick);
      const retried = await h.metrics.retries.get();
      expect(retried.values.find((v) => v.labels.reason === "model_not_found")?.value).toBeGreaterThan(0);

      // A model no key can use: one attempt, the caller's 404, and no key benched for it.
      const before = primary.requests.length;
      expect((await failure(h.gateway.chat(chat("no-such-model"), h.ctx()))).findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_MODEL_NOT_FOUND");
      expect(primary.requests.length).toBe(before + 1);
      expect(pool.get("primary/good")!.state).toBe("active");
    } finally {
      primary.failKey("sk-primary-sick", undefined);
      await h.close();
    }
  });
});
