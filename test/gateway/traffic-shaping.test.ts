// Retries, failover, streams, deadlines, the retry budget and hedging, end to
// end: a real gateway in front of fake vendors on loopback. Counts, codes and
// attempts are asserted, never timings.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import type { ChatSummary } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ConfigFile } from "../../src/config/schema.js";
import type { Scripted } from "../fakes/fake-server.js";
import { sleep } from "../fakes/fake-server.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
const serverError = (status = 503): Scripted => ({ kind: "error", status, body: { error: { message: "The server is overloaded", type: "server_error" } } });
const tooMany = (headers: Record<string, string>): Scripted => ({
  kind: "error",
  status: 429,
  body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
  headers,
});
/** Fast backoffs, so tests that retry stay quick. */
const FAST = { base_delay_ms: 1, max_delay_ms: 5 };

async function counter(gw: TestGateway, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await gw.app.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0);
}

async function streamChat(gw: TestGateway, request = hi): Promise<{ text: string; deltas: number; summary?: ChatSummary; error?: ConnectError }> {
  let text = "";
  let deltas = 0;
  let summary: ChatSummary | undefined;
  try {
    for await (const event of gw.client("grpc").chatStream(request)) {
      if (event.event.case === "delta") {
        text += event.event.value.content;
        deltas++;
      }
      if (event.event.case === "summary") summary = event.event.value;
    }
  } catch (err) {
    return { text, deltas, summary, error: ConnectError.from(err) };
  }
  return { text, deltas, summary };
}

const outcomes = (attempts: { provider: string; outcome: string }[]) => attempts.map((a) => `${a.provider}:${a.outcome}`);

describe("retries on one vendor", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-solo" });
    gw = await startGateway(
      { SOLO_KEY: "sk-solo" },
      {
        providers: { solo: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:SOLO_KEY" } },
        routes: [{ model: "gpt-4o-mini", provider: "solo" }],
        traffic: { retry: { ...FAST, max_attempts: 3, attempts_per_candidate: 3 } },
      },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("retries a vendor 500 and answers; the answer records both attempts and the metrics count the retry", async () => {
    const before = fake.requests.length;
    const res = await gw.client("connect").chat(hi);
    expect(res.message?.content).toBe("Echo: hi");
    expect(fake.requests.length - before).toBe(1);

    fake.enqueue(serverError(500));
    const retried = await gw.client("connect").chat(hi);
    expect(retried.message?.content).toBe("Echo: hi");
    expect(outcomes(retried.attempts)).toEqual(["solo:overloaded", "solo:ok"]);
    expect(retried.provider).toBe("solo");
    expect(await counter(gw, "switchboard_retries_total", { provider: "solo", reason: "overloaded" })).toBe(1);
  });

  it("retries a reset connection and a 503 on a stream before its first token", async () => {
    fake.enqueue({ kind: "reset" }, serverError(503));
    const { text, summary, error } = await streamChat(gw);
    expect(error).toBeUndefined();
    expect(text).toBe("Echo: hi");
    expect(outcomes(summary!.attempts)).toEqual(["solo:unreachable", "solo:overloaded", "solo:ok"]);
  });

  it("persistent failures: the caller gets the last failure's code after max_attempts, no more", async () => {
    const before = fake.requests.length;
    fake.enqueue(serverError(503), serverError(502), serverError(500));
    const err = await failure(gw.client("grpc").chat(hi));
    expect(err.code).toBe(Code.Unavailable);
    expect(fake.requests.length - before).toBe(3);
  });

  it("never retries the caller's own error", async () => {
    const before = fake.requests.length;
    fake.enqueue({ kind: "error", status: 400, body: { error: { message: "Invalid 'messages[0].content'", type: "invalid_request_error" } } });
    expect((await failure(gw.client("grpc").chat(hi))).code).toBe(Code.InvalidArgument);
    expect(fake.requests.length - before).toBe(1);
  });

  it("a 429 asking for a longer wait than max_retry_after_ms goes back to the caller with the hint", async () => {
    const before = fake.requests.length;
    fake.enqueue(tooMany({ "retry-after": "30" }));
    const err = await failure(gw.client("grpc").chat(hi));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.metadata.get("retry-after")).toBe("30");
    expect(fake.requests.length - before).toBe(1);
  });
});

describe("failover to the pool's next key", () => {
  let fake: OpenAIFake;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-key-one", extraKeys: ["sk-key-two"] });
  });
  afterAll(() => fake.close());

  const pooled = (keys: { secret: string; weight: number }[]): ConfigFile => ({
    providers: { pooled: { dialect: "openai", base_url: fake.baseUrl, keys } },
    routes: [{ model: "gpt-4o-mini", provider: "pooled" }],
    traffic: { retry: FAST },
  });

  it("a key's 429 moves to another key at once, whatever retry-after it asked for", async () => {
    const gw = await startGateway({ K1: "sk-key-one", K2: "sk-key-two" }, pooled([{ secret: "env:K1", weight: 1 }, { secret: "env:K2", weight: 1 }]));
    try {
      const before = fake.requests.length;
      fake.enqueue(tooMany({ "retry-after": "30" }));
      const res = await gw.client("grpc").chat(hi);
      expect(outcomes(res.attempts)).toEqual(["pooled:rate_limited", "pooled:ok"]);
      const keys = fake.requests.slice(before).map((r) => r.headers.authorization);
      expect(new Set(keys).size).toBe(2);
    } finally {
      await gw.stop();
    }
  });

  it("a rejected key fails over to the next key instead of being retried", async () => {
    // The rejected key carries nearly all the weight, so the pool picks it first.
    const gw = await startGateway({ BAD: "sk-revoked", K1: "sk-key-one" }, pooled([{ secret: "env:BAD", weight: 1_000_000 }, { secret: "env:K1", weight: 1 }]));
    try {
      const res = await gw.client("grpc").chat(hi);
      expect(res.message?.content).toBe("Echo: hi");
      expect(outcomes(res.attempts)).toEqual(["pooled:credential_rejected", "pooled:ok"]);
    } finally {
      await gw.stop();
    }
  });
});

describe("failover along the model's fallback chain", () => {
  let primary: OpenAIFake;
  let gemini: GeminiFake;
  let gw: TestGateway;
  beforeAll(async () => {
    primary = await startOpenAIFake({ apiKey: "sk-primary" });
    gemini = await startGeminiFake({ apiKey: "AIzaGeminiFallbackKey" });
    gw = await startGateway(
      { PRIMARY_KEY: "sk-primary", GEMINI_API_KEY: "AIzaGeminiFallbackKey", GEMINI_BASE_URL: gemini.baseUrl },
      {
        providers: { primary: { dialect: "openai", base_url: primary.baseUrl, api_key: "env:PRIMARY_KEY" } },
        routes: [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["gemini-2.0-flash"] }],
        traffic: { retry: { ...FAST, attempts_per_candidate: 2 } },
      },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await primary.close();
    await gemini.close();
  });

  it("crosses vendors (OpenAI dialect → Gemini) once the first candidate's attempts are spent, and says who served", async () => {
    primary.enqueue(serverError(503), serverError(529));
    const res = await gw.client("connect").chat(hi);
    expect(res.provider).toBe("gemini");
    expect(res.model).toBe("gemini-2.0-flash");
    expect(res.requestedModel).toBe("gpt-4o-mini");
    expect(res.message?.content).not.toBe("");
    expect(outcomes(res.attempts)).toEqual(["primary:overloaded", "primary:overloaded", "gemini:ok"]);
    expect(res.attempts[2]!.model).toBe("gemini-2.0-flash");
    expect(await counter(gw, "switchboard_failovers_total", { from: "primary", to: "gemini", reason: "overloaded" })).toBe(1);
  });

  it("never fails over on the caller's error", async () => {
    const before = gemini.generateRequests().length;
    primary.enqueue({ kind: "error", status: 400, body: { error: { message: "'temperature' is invalid", type: "invalid_request_error" } } });
    expect((await failure(gw.client("grpc").chat(hi))).code).toBe(Code.InvalidArgument);
    expect(gemini.generateRequests().length).toBe(before);
  });
});

describe("streams", () => {
  let primary: OpenAIFake;
  let backup: OpenAIFake;
  let gw: TestGateway;
  beforeAll(async () => {
    primary = await startOpenAIFake({ apiKey: "sk-primary" });
    backup = await startOpenAIFake({ apiKey: "sk-backup" });
    gw = await startGateway(
      { PRIMARY_KEY: "sk-primary", BACKUP_KEY: "sk-backup" },
      {
        providers: {
          primary: { dialect: "openai", base_url: primary.baseUrl, api_key: "env:PRIMARY_KEY", first_token_timeout_ms: 1_000 },
          backup: { dialect: "openai", base_url: backup.baseUrl, api_key: "env:BACKUP_KEY" },
        },
        routes: [{ model: "gpt-4o-mini", provider: "primary", fallbacks: ["backup/gpt-4o-mini"] }],
        traffic: { retry: { ...FAST, attempts_per_candidate: 1 } },
      },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await primary.close();
    await backup.close();
  });

  it("fail over before the first token, and the summary names the candidate that served", async () => {
    primary.enqueue(serverError(503));
    const { text, summary, error } = await streamChat(gw);
    expect(error).toBeUndefined();
    expect(text).toBe("Echo: hi");
    expect(summary!.provider).toBe("backup");
    expect(outcomes(summary!.attempts)).toEqual(["primary:overloaded", "backup:ok"]);
  });

  it("fail over when the vendor sends no first token within first_token_timeout_ms, and cancel the silent request", async () => {
    const abandoned = primary.abandoned.length;
    primary.enqueue({ kind: "hang" });
    const { text, summary, error } = await streamChat(gw);
    expect(error).toBeUndefined();
    expect(text).toBe("Echo: hi");
    expect(outcomes(summary!.attempts)).toEqual(["primary:timeout", "backup:ok"]);
    await expect.poll(() => primary.abandoned.length).toBe(abandoned + 1);
  });

  it("after the first token, a failure ends the stream with STREAM_INTERRUPTED: no retry, no repeated text", async () => {
    const before = { primary: primary.requests.length, backup: backup.requests.length };
    primary.options.breakStreamAfter = 1;
    primary.options.chunkDelayMs = 10;
    try {
      const { text, deltas, summary, error } = await streamChat(gw);
      expect(text).toBe("Echo"); // the first piece of "Echo: hi", once
      expect(deltas).toBe(1);
      expect(summary).toBeUndefined();
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_INTERRUPTED");
      expect(error?.rawMessage).toContain("already begun streaming");
      expect(primary.requests.length - before.primary).toBe(1);
      expect(backup.requests.length - before.backup).toBe(0);
    } finally {
      primary.options.breakStreamAfter = undefined;
      primary.options.chunkDelayMs = 0;
    }
  });
});

describe("deadlines", () => {
  it("the caller's deadline bounds all attempts together: DeadlineExceeded, every attempt cancelled, none started after", async () => {
    const fake = await startOpenAIFake({ apiKey: "sk-slow" });
    const gw = await startGateway(
      { SLOW_KEY: "sk-slow" },
      {
        providers: { slow: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:SLOW_KEY", timeout_ms: 100 } },
        routes: [{ model: "gpt-4o-mini", provider: "slow" }],
        traffic: { retry: { ...FAST, max_attempts: 20, attempts_per_candidate: 20 }, retry_budget: { min_retries: 100 } },
      },
    );
    try {
      fake.enqueue(...Array.from({ length: 40 }, (): Scripted => ({ kind: "hang" })));
      const err = await failure(gw.client("grpc").chat(hi, { timeoutMs: 800 }));
      expect(err.code).toBe(Code.DeadlineExceeded);
      // Each attempt was cut by the provider's timeout and retried until the deadline...
      expect(fake.requests.length).toBeGreaterThanOrEqual(2);
      expect(fake.requests.length).toBeLessThan(20);
      // ...every one of them was abandoned, and none started after the deadline. The call's
      // own end is awaited first, then a moment for an attempt it sent as the deadline fell
      // to reach the fake: that one started in time and must be counted before, not after.
      await expect.poll(() => gw.logs.entries.some((e) => e.msg === "call failed")).toBe(true);
      await sleep(100);
      await expect.poll(() => fake.abandoned.length).toBe(fake.requests.length);
      const sent = fake.requests.length;
      await sleep(300);
      expect(fake.requests.length).toBe(sent);
    } finally {
      await gw.stop();
      await fake.close();
    }
  });
});

describe("the retry budget", () => {
  it("stops retries from amplifying a full outage", async () => {
    const fake = await startOpenAIFake({ apiKey: "sk-down" });
    const gw = await startGateway(
      { DOWN_KEY: "sk-down" },
      {
        providers: { down: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:DOWN_KEY" } },
        routes: [{ model: "gpt-4o-mini", provider: "down" }],
        traffic: {
          retry: { ...FAST, max_attempts: 5, attempts_per_candidate: 5 },
          retry_budget: { ratio: 0.2, min_retries: 2, window_ms: 600_000 },
          breaker: { enabled: false },
        },
      },
    );
    try {
      const calls = 40;
      fake.enqueue(...Array.from({ length: calls * 5 }, () => serverError(503)));
      for (let i = 0; i < calls; i++) expect((await failure(gw.client("connect").chat(hi))).code).toBe(Code.Unavailable);
      // Without the budget: 5 attempts per call (200). With it: 20% more than the calls, plus the floor.
      expect(fake.requests.length).toBeGreaterThan(calls);
      expect(fake.requests.length).toBeLessThanOrEqual(calls * 1.2 + 3);
      expect(await counter(gw, "switchboard_retry_budget_exhausted_total", { provider: "down" })).toBeGreaterThan(0);
    } finally {
      await gw.stop();
      await fake.close();
    }
  });
});

describe("hedging", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-hedge-one", extraKeys: ["sk-hedge-two"] });
    gw = await startGateway(
      { H1: "sk-hedge-one", H2: "sk-hedge-two" },
      {
        providers: { hedgy: { dialect: "openai", base_url: fake.baseUrl, keys: [{ secret: "env:H1", weight: 1 }, { secret: "env:H2", weight: 1 }], hedge: { delay_ms: 100 } } },
        routes: [{ model: "gpt-4o-mini", provider: "hedgy" }],
        traffic: { retry: FAST },
      },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("races a slow attempt with a second one on another key; the first answer wins and the other is cancelled", async () => {
    const before = fake.requests.length;
    fake.enqueue({ kind: "hang" });
    const res = await gw.client("grpc").chat(hi);
    expect(res.message?.content).toBe("Echo: hi");
    expect(res.attempts.map((a) => [a.outcome, a.hedged])).toEqual([
      ["cancelled", false],
      ["ok", true],
    ]);
    const keys = fake.requests.slice(before).map((r) => r.headers.authorization);
    expect(new Set(keys).size).toBe(2);
    await expect.poll(() => fake.abandoned.length).toBe(1);
    expect(await counter(gw, "switchboard_hedges_total", { provider: "hedgy", winner: "hedge" })).toBe(1);
  });

  it("streams are never hedged", async () => {
    const before = fake.requests.length;
    fake.options.chunkDelayMs = 60; // slower than the hedge delay overall
    try {
      const { text, summary } = await streamChat(gw);
      expect(text).toBe("Echo: hi");
      expect(summary!.attempts).toHaveLength(1);
      expect(fake.requests.length - before).toBe(1);
    } finally {
      fake.options.chunkDelayMs = 0;
    }
  });
});
