// A call's answer goes out once its charge is counted where every instance reads it (CI, stop 35: two
// instances behind one balancer, a client calling again through the other one as soon as it had its
// answer, was refused: the first call's budget reservation still held the key's budget in Redis, its
// settlement not sent yet). A real gateway, dispatcher and adapter in front of a fake vendor on
// loopback; the hooks' settlement is a gate the test opens, so nothing here depends on timing.
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import type { CallHooks } from "../../src/gateway/call-hooks.js";
import { Dispatcher, type ProviderRuntime } from "../../src/gateway/dispatcher.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { Router } from "../../src/gateway/router.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createAdapter } from "../../src/providers/registry.js";
import { createCredential } from "../../src/secrets/credential.js";
import { KeyPool } from "../../src/secrets/key-pool.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o", "text-embedding-3-small"] });
});
afterAll(async () => {
  await fake.close();
});

/** A gateway whose hooks' `counted` waits on a gate the test opens; `settled` resolves when the call is settled. */
function world() {
  const adapter = createAdapter({ name: "openai", dialect: "openai", baseUrl: fake.baseUrl, keys: [], headers: {}, timeoutMs: 60_000, embedBatchSize: 2048 });
  const runtime: ProviderRuntime = { adapter, pool: new KeyPool("openai", [{ credential: createCredential("openai/k", "sk-up"), weight: 1 }]), timeoutMs: 60_000, embedBatchSize: 2048 };
  const providers = new Map([["openai", runtime]]);
  let open!: () => void;
  const counting = new Promise<void>((resolve) => (open = resolve));
  let wasSettled!: () => void;
  const settled = new Promise<void>((resolve) => (wasSettled = resolve));
  let isSettled = false;
  const hooks: CallHooks = {
    admit: async (request) => ({
      candidates: request.candidates,
      skipped: [],
      downgraded: false,
      settle: () => ((isSettled = true), wasSettled()),
      counted: () => (isSettled ? counting : undefined),
    }),
  };
  const routes = ["gpt-4o", "text-embedding-3-small", "gpt-unserved"].map((model) => ({ model, provider: "openai" }));
  const dispatcher = new Dispatcher(providers, new GatewayMetrics({ defaultMetrics: false }), { traffic: DEFAULT_TRAFFIC });
  const gateway = new Gateway({ router: new Router(routes, new Set(["openai"])), dispatcher, providers, logger: createLogger("silent"), hooks });
  const ctx: CallContext = { principal: { keyId: "k", name: "k", admin: false }, signal: new AbortController().signal, requestId: "req" };
  return { gateway, ctx, settled, count: () => open() };
}

const chat = (model: string) => create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }] });

/** Whether `promise` has settled once everything already under way here has run (a turn of the event loop, a few times over). */
async function isDone(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("an answer waits for its call's charge to be counted", () => {
  it("a unary chat call's answer", async () => {
    const w = world();
    const answer = w.gateway.chat(chat("gpt-4o"), w.ctx);
    await w.settled;
    expect(await isDone(answer)).toBe(false);
    w.count();
    await expect(answer).resolves.toMatchObject({ message: { content: "Echo: hi" } });
  });

  it("a stream's summary, its last message", async () => {
    const w = world();
    const responses = (await w.gateway.chatStream(chat("gpt-4o"), w.ctx)).responses[Symbol.asyncIterator]();
    // The deltas go out as they come; the read that meets the vendor's end settles the call, and waits.
    let pending = responses.next();
    for (;;) {
      const read = await Promise.race([pending, w.settled.then(() => "settled" as const)]);
      if (read === "settled") break;
      expect(read.value?.event.case).toBe("delta");
      pending = responses.next();
    }
    expect(await isDone(pending)).toBe(false);
    w.count();
    expect((await pending).value?.event.case).toBe("summary");
  });

  it("a failed call's error", async () => {
    const w = world();
    const failed = w.gateway.chat(chat("gpt-unserved"), w.ctx);
    await w.settled;
    expect(await isDone(failed)).toBe(false);
    w.count();
    await expect(failed).rejects.toThrow(/gpt-unserved/);
  });

  it("an embedding's answer", async () => {
    const w = world();
    const answer = w.gateway.embed(create(EmbedRequestSchema, { model: "text-embedding-3-small", inputs: ["hi"] }), w.ctx);
    await w.settled;
    expect(await isDone(answer)).toBe(false);
    w.count();
    await expect(answer).resolves.toMatchObject({ embeddings: [{ index: 0 }] });
  });
});
