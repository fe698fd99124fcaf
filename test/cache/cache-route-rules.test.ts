// A route's rules for a kept answer (`tool_calls`, `truncated`, `ttl_ms`) hold
// for the calls it serves when an answer is read, not only when one is
// stored: routes in front of the same model share a partition whenever their
// `share` agrees (every `share: key` route of one key, every `share: team`
// route of one team), and a looser route's entry must not reach a stricter
// one, from memory or from an identical call in flight (audit "cache",
// finding 1). Routes with equal rules still share. The cache runs on the
// test's clock, in memory, with in-process coalescing.
import { create } from "@bufbuild/protobuf";
import { beforeEach, describe, expect, it } from "vitest";
import { FinishReason, MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer } from "../../src/cache/coalescer.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE, type RouteCachePolicy } from "../../src/config/cache-config.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import type { CacheableAnswer } from "../../src/gateway/response-cache.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { answer, logger, openai, question } from "./support/cache-instance.js";

/** The audit's routes, all in front of openai/gpt-4o-mini. */
const route = (model: string, cache: Partial<RouteCachePolicy>) => ({ model, provider: "openai", upstreamModel: "gpt-4o-mini", cache: { ...DEFAULT_CACHE.defaults, ...cache } });
const ROUTES = [
  route("tools-ok", { mode: "always", toolCalls: true, truncated: true }),
  route("always-key", { mode: "always" }),
  // The same rules as always-key's: an alias that shares its entries.
  route("also-key", { mode: "always" }),
  route("fresh", { mode: "always", ttlMs: 3_000 }),
  route("team-tools-ok", { mode: "always", share: "team", toolCalls: true }),
  route("team-strict", { mode: "always", share: "team" }),
];

const caller = (keyId: string, team = "alpha"): CallContext => ({ principal: { keyId, name: keyId, admin: false, team }, signal: new AbortController().signal, requestId: `r-${keyId}` });

const toolCall: CacheableAnswer = {
  ...answer("tool call"),
  finishReason: FinishReason.TOOL_CALLS,
  message: create(MessageSchema, { role: Role.ASSISTANT, toolCalls: [{ id: "call_95", name: "send_payment", arguments: '{"q":95}' }] }),
};
const cutShort: CacheableAnswer = { ...answer("cut at max_tokens"), finishReason: FinishReason.LENGTH };

describe("a route's rules for a kept answer, when an answer is read", () => {
  let now: number;
  let coalescer: Coalescer;
  let cache: TieredCache;
  beforeEach(() => {
    now = 5_000_000;
    coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, now: () => now });
    cache = new TieredCache({
      policy: new CachePolicy(ROUTES, DEFAULT_CACHE.defaults),
      secret: new CacheSecret(Buffer.from("a cache secret for the route rules tests")),
      memory: new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now: () => now }),
      coalescer,
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger,
      now: () => now,
    });
  });

  const lookup = (model: string, who: CallContext, content = "please TOOL now") => cache.lookup(question(content, { model }), [openai], who);
  /** A miss through `model` whose vendor answer is `got`, offered to the cache. */
  const stored = async (model: string, who: CallContext, got: CacheableAnswer, content?: string) => {
    const miss = await lookup(model, who, content);
    expect(miss.status).toBe("miss");
    miss.store(got);
    miss.release();
  };

  it("serves no tool call to a route that keeps none, in a key's partition and in a team's", async () => {
    await stored("tools-ok", caller("a1"), toolCall);
    expect((await lookup("tools-ok", caller("a1"))).status).toBe("hit");
    const strict = await lookup("always-key", caller("a1"));
    expect([strict.status, strict.answer?.message.toolCalls]).toEqual(["miss", undefined]);

    await stored("team-tools-ok", caller("a1"), toolCall);
    expect((await lookup("team-tools-ok", caller("a2"))).status).toBe("hit");
    expect((await lookup("team-strict", caller("a2"))).status).toBe("miss");
  });

  it("serves no answer cut at max_tokens to a route that keeps none", async () => {
    await stored("tools-ok", caller("a1"), cutShort, "stock price LEN");
    expect((await lookup("tools-ok", caller("a1"), "stock price LEN")).status).toBe("hit");
    expect((await lookup("always-key", caller("a1"), "stock price LEN")).status).toBe("miss");
  });

  it("serves no answer older than the reading route's TTL", async () => {
    await stored("always-key", caller("a1"), answer("an hour's answer"), "current stock price");
    now += 5_000;
    expect((await lookup("always-key", caller("a1"), "current stock price")).status).toBe("hit");
    // Five seconds old: past the fresh route's three.
    await stored("fresh", caller("a1"), answer("a fresh answer"), "current stock price");
    now += 2_999;
    const fresh = await lookup("fresh", caller("a1"), "current stock price");
    expect([fresh.status, fresh.answer?.message.content]).toEqual(["hit", "a fresh answer"]);
    now += 1;
    expect((await lookup("fresh", caller("a1"), "current stock price")).status).toBe("miss");
    // The fresh route's answer took nothing from the hour's route.
    expect((await lookup("always-key", caller("a1"), "current stock price")).answer?.message.content).toBe("an hour's answer");
  });

  it("hands no identical call in flight's tool call to a route that keeps none; routes with equal rules still share", async () => {
    const leader = await lookup("tools-ok", caller("a1"));
    expect(leader.status).toBe("miss");
    const strict = lookup("always-key", caller("a1"));
    // Whatever the strict call does next (wait on the leader, or go its own way) it has done once the loop turns.
    await new Promise((resolve) => setImmediate(resolve));
    leader.store(toolCall);
    leader.release();
    const got = await strict;
    expect([got.status, got.answer]).toEqual(["miss", undefined]);
    got.release();

    const first = await lookup("always-key", caller("a1"), "same rules");
    const alias = lookup("also-key", caller("a1"), "same rules");
    await expect.poll(() => coalescer.waiting).toBe(1);
    first.store(answer("shared by equal rules"));
    first.release();
    expect((await alias).status).toBe("coalesced");
    expect((await lookup("also-key", caller("a1"), "same rules")).status).toBe("hit");
  });
});
