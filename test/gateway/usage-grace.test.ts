// What a stream whose caller left is charged (hostile audit 4, finding 5). Left after the
// vendor's finish reason, only its usage chunk still to come: the vendor is read a while longer
// for it, and the call charged what the vendor counted, the reasoning tokens it spent unseen
// included. Left mid-answer: the vendor is cancelled at once (that stops its generation), and
// the call charged the estimate of what it streamed. A real gateway, dispatcher and adapter in
// front of a fake vendor on loopback; the fake's usage chunk waits on a gate the test opens, and
// the grace's clock is the test's.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatRequestSchema, type ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import type { CallHooks, CallOutcome } from "../../src/gateway/call-hooks.js";
import { Dispatcher, type ProviderRuntime } from "../../src/gateway/dispatcher.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { Router } from "../../src/gateway/router.js";
import type { StartTimer } from "../../src/gateway/timers.js";
import { estimatedUsage, textTokens } from "../../src/gateway/usage-estimate.js";
import { USAGE_GRACE_MS } from "../../src/gateway/usage-grace.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { ProviderAdapter } from "../../src/providers/provider.js";
import { createAdapter } from "../../src/providers/registry.js";
import { createCredential } from "../../src/secrets/credential.js";
import { KeyPool } from "../../src/secrets/key-pool.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["o3"] });
});
afterAll(async () => {
  await fake.close();
});

/** A promise the test resolves. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Timers that fire only when the test says. */
function testTimers() {
  const armed = new Set<{ ms: number; fire: () => void }>();
  const timer: StartTimer = (ms, fire) => {
    const entry = { ms, fire };
    armed.add(entry);
    return { stop: () => armed.delete(entry), restart: () => armed.add(entry) };
  };
  return { timer, armed };
}

let usageGate: ReturnType<typeof gate>;
let atUsageGate: ReturnType<typeof gate>;
beforeEach(() => {
  usageGate = gate();
  atUsageGate = gate();
  fake.options.beforeStreamUsage = () => (atUsageGate.open(), usageGate.promise);
});
afterEach(() => {
  usageGate.open();
  fake.options.beforeStreamUsage = undefined;
});

/**
 * A gateway over the fake, its hooks recording how calls settle (what the ledger gets), its grace on the test's
 * timers; `answerEnded` resolves when the adapter tells that the vendor said the answer's end.
 */
function world() {
  const inner = createAdapter({ name: "openai", dialect: "openai", baseUrl: fake.baseUrl, keys: [], headers: {}, timeoutMs: 60_000, embedBatchSize: 2048 });
  const answerEnded = gate();
  const adapter: ProviderAdapter = Object.assign(Object.create(inner) as ProviderAdapter, {
    chatStream: (call: Parameters<ProviderAdapter["chatStream"]>[0]) => {
      const watch = call.afterAnswer;
      return inner.chatStream({ ...call, afterAnswer: watch && { read: (chars: number) => watch.read(chars), ended: () => (watch.ended(), answerEnded.open()) } });
    },
  });
  const runtime: ProviderRuntime = { adapter, pool: new KeyPool("openai", [{ credential: createCredential("openai/k", "sk-up"), weight: 1 }]), timeoutMs: 60_000, embedBatchSize: 2048 };
  const providers = new Map([["openai", runtime]]);
  const settled: CallOutcome[] = [];
  const hooks: CallHooks = { admit: async (request) => ({ candidates: request.candidates, skipped: [], downgraded: false, settle: (outcome) => settled.push(outcome) }) };
  const timers = testTimers();
  const dispatcher = new Dispatcher(providers, new GatewayMetrics({ defaultMetrics: false }), { traffic: DEFAULT_TRAFFIC });
  const gateway = new Gateway({ router: new Router([{ model: "o3", provider: "openai" }], new Set(["openai"])), dispatcher, providers, logger: createLogger("silent"), hooks, timer: timers.timer });
  const caller = new AbortController();
  const ctx: CallContext = { principal: { keyId: "k", name: "k", admin: false }, signal: caller.signal, requestId: "req" };
  return { gateway, settled, timers, ctx, answerEnded: answerEnded.promise, leave: () => caller.abort(new ConnectError("the client went away", Code.Canceled)) };
}

const params = (content: string) => create(ChatRequestSchema, { model: "o3", messages: [{ role: Role.USER, content }] });

/** Reads a stream's deltas until its text is `text`; the stream then waits, unread, as a client's does. */
async function readUntil(responses: AsyncIterator<ChatStreamResponse>, text: string): Promise<void> {
  let said = "";
  while (said !== text) {
    const next = await responses.next();
    if (next.done || next.value.event.case !== "delta") throw new Error(`the stream ended after ${JSON.stringify(said)}`);
    said += next.value.event.value.content;
  }
}

describe("a stream whose caller left after the answer's end", () => {
  it("is read on for the vendor's usage, and charged it: the hidden reasoning tokens included", async () => {
    const w = world();
    const prompt = "a reasoning cut probe";
    const responses = (await w.gateway.chatStream(params(prompt), w.ctx)).responses[Symbol.asyncIterator]();
    await readUntil(responses, `Echo: ${prompt}`);
    // The client asks for more (the finish reason's summary): the gateway reads the finish chunk, and waits for the usage.
    const rest = responses.next();
    await w.answerEnded;
    await atUsageGate.promise;
    w.leave();
    expect([...w.timers.armed].map((t) => t.ms)).toEqual([USAGE_GRACE_MS]);
    usageGate.open();

    await expect(rest).rejects.toMatchObject({ code: Code.Canceled });
    // The fake's counts: the prompt's words and 3 for the message; the answer's words and its 7 reasoning tokens.
    expect(w.settled).toHaveLength(1);
    expect(w.settled[0]!.error?.code).toBe(Code.Canceled);
    expect(w.settled[0]!.usage).toMatchObject({ promptTokens: 4 + 3, completionTokens: 5 + 7, reasoningTokens: 7 });
    expect(w.settled[0]!.usage).not.toEqual(estimatedUsage(params(prompt), textTokens(`Echo: ${prompt}`)));
    expect(w.settled[0]!.attempts.map((a) => a.outcome)).toEqual(["ok"]);
    expect(w.timers.armed.size).toBe(0);
  });

  it("is cancelled when the grace ends without the usage, and charged the estimate of what it streamed", async () => {
    const w = world();
    const prompt = "a vendor that keeps its usage";
    const responses = (await w.gateway.chatStream(params(prompt), w.ctx)).responses[Symbol.asyncIterator]();
    await readUntil(responses, `Echo: ${prompt}`);
    const rest = responses.next();
    await w.answerEnded;
    const abandoned = fake.abandoned.length;
    w.leave();
    const [grace] = [...w.timers.armed];
    expect(grace?.ms).toBe(USAGE_GRACE_MS);
    grace!.fire();

    await expect(rest).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => fake.abandoned.length).toBe(abandoned + 1);
    expect(w.settled[0]!.usage).toEqual(estimatedUsage(params(prompt), textTokens(`Echo: ${prompt}`)));
    expect(w.settled[0]!.attempts.map((a) => a.outcome)).toEqual(["cancelled"]);
  });
});

describe("a stream whose caller left mid-answer", () => {
  it("cancels the vendor at once, with no grace, and is charged the estimate of what was streamed, Chinese a token a character", async () => {
    const w = world();
    const prompt = "请写一篇很长的文章";
    const responses = (await w.gateway.chatStream(params(prompt), w.ctx)).responses[Symbol.asyncIterator]();
    const seen = "Echo: 请写一篇很长";
    await readUntil(responses, seen);
    const abandoned = fake.abandoned.length;
    w.leave();
    expect(w.timers.armed.size).toBe(0);
    await responses.return(undefined);

    await expect.poll(() => fake.abandoned.length).toBe(abandoned + 1);
    expect(w.settled[0]!.error?.code).toBe(Code.Canceled);
    // "Echo: " a token and a half, each of the six Chinese characters one.
    expect(w.settled[0]!.usage).toMatchObject({ completionTokens: 8 });
    expect(w.settled[0]!.usage).toEqual(estimatedUsage(params(prompt), textTokens(seen)));
  });
});
