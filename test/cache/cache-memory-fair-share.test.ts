// The memory level (L1) bounds what one gateway key puts in, across every
// partition it writes to, as L2 does (cache-redis-fair-share.test.ts): one
// key reaches its own partition, its team's and each `share: route` route's,
// each up to a partition's share of memory, and without a writer's bound it
// evicted another team's answers (audit "cache", finding 2). No Redis: memory
// is the only level, as with `npm start`'s defaults. The test's clock.
import { describe, expect, it } from "vitest";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { createResponseCache } from "../../src/cache/create-response-cache.js";
import { MemoryCache, type MemoryEntry } from "../../src/cache/memory-cache.js";
import { buildCache, DEFAULT_CACHE, type RouteCachePolicy } from "../../src/config/cache-config.js";
import type { RouteConfig } from "../../src/config/config.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { answer, logger, openai, question } from "./support/cache-instance.js";

const route = (model: string, cache: Partial<RouteCachePolicy>): RouteConfig => ({ model, provider: "openai", upstreamModel: "gpt-4o-mini", cache: { ...DEFAULT_CACHE.defaults, mode: "always", ...cache } });
/** The audit's routes: a key's own, a team's, and two shared by every caller. */
const ROUTES = [route("always-key", { share: "key" }), route("support-bot", { share: "team" }), route("public-bot", { share: "route" }), route("public-bot2", { share: "route" })];

const caller = (keyId: string, team: string): CallContext => ({ principal: { keyId, name: keyId, admin: false, team }, signal: new AbortController().signal, requestId: `r-${keyId}` });

describe("the memory level's share per writer", () => {
  it("defaults a writer's share to the partition's", () => {
    expect(DEFAULT_CACHE.memory.maxWriterShare).toBe(DEFAULT_CACHE.memory.maxPartitionShare);
    expect(buildCache(undefined).memory.maxWriterShare).toBe(DEFAULT_CACHE.memory.maxPartitionShare);
    expect(buildCache({ memory: { max_partition_share: 0.5 } }).memory.maxWriterShare).toBe(0.5);
    expect(buildCache({ memory: { max_writer_share: 0.1 } }).memory).toMatchObject({ maxWriterShare: 0.1, maxPartitionShare: DEFAULT_CACHE.memory.maxPartitionShare });
  });

  it("does not let one key filling its own, its team's and two shared routes' partitions evict another team's answer", async () => {
    const now = 3_000_000;
    const config = buildCache({ memory: { max_entries: 40, max_partition_share: 0.25 } });
    const cache = (await createResponseCache({
      config,
      routes: ROUTES,
      env: {},
      hasher: new KeyHasher(Buffer.from("a pepper of at least sixteen bytes")),
      redis: undefined,
      redisPrefix: "memory-fair-share:",
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger,
      now: () => now,
    }))!;
    const ask = (who: CallContext, model: string, content: string) => cache.lookup(question(content, { model }), [openai], who);
    const b1 = caller("b1", "beta");
    const a1 = caller("a1", "alpha");

    const victim = await ask(b1, "always-key", "victim private q");
    victim.store(answer("b1's answer"));
    victim.release();
    expect((await ask(b1, "always-key", "victim private q")).status).toBe("hit");

    // 40 distinct questions from a1 alone, ten into each partition it reaches: as many as the whole level holds.
    for (const model of ROUTES.map((each) => each.model)) {
      for (let i = 0; i < 10; i++) {
        const miss = await ask(a1, model, `a1 question ${i}`);
        expect(miss.status).toBe("miss");
        miss.store(answer(`a1 answer ${model} ${i}`));
        miss.release();
      }
    }
    const kept = await ask(b1, "always-key", "victim private q");
    expect([kept.status, kept.answer?.message.content]).toEqual(["hit", "b1's answer"]);
    // a1 keeps its most recent answers, its share's worth.
    expect((await ask(a1, "public-bot2", "a1 question 9")).status).toBe("hit");
    expect((await ask(a1, "always-key", "a1 question 9")).status).toBe("miss");
  });

  it("makes room from the writer's own least recently used entries, whichever partition they are in", () => {
    const memory = new MemoryCache({ maxEntries: 8, maxBytes: 100_000, maxPartitionShare: 0.5, maxWriterShare: 0.25, now: () => 0 });
    const entry = (partition: string, writer: string): MemoryEntry => ({ bytes: new Uint8Array(10), expiresAt: 100, labels: { partition, provider: "openai", model: "gpt-4o-mini" }, writer });
    memory.set("b-own", entry("key:b", "key:b"));
    memory.set("a-team", entry("team:red", "key:a"));
    memory.set("a-own", entry("key:a", "key:a"));
    memory.get("a-team"); // a-own is now a's least recently used
    memory.set("a-route", entry("route:openai:public-bot", "key:a"));
    expect(["b-own", "a-team", "a-own", "a-route"].map((id) => memory.get(id) !== undefined)).toEqual([true, true, false, true]);
    // Bytes too: a quarter of 100,000 holds one entry of 20,000 bytes and its overhead, not two, across partitions.
    const big = (partition: string): MemoryEntry => ({ ...entry(partition, "key:c"), bytes: new Uint8Array(20_000) });
    memory.set("c-own", big("key:c"));
    memory.set("c-team", big("team:blue"));
    expect([memory.get("c-own"), memory.get("c-team")].map((found) => found !== undefined)).toEqual([false, true]);
    // An entry without a writer counts against its partition as its writer.
    memory.set("d1", { ...entry("key:d", "key:d"), writer: undefined });
    memory.set("d2", { ...entry("key:d", "key:d"), writer: undefined });
    memory.set("d3", entry("key:e", "key:d"));
    expect(["d1", "d2", "d3"].map((id) => memory.get(id) !== undefined)).toEqual([false, true, true]);
  });
});
