import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import { FinishReason, MessageSchema, Role, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import type { KeyPolicy } from "../../src/auth/key-policy.js";
import { decodeAnswer, encodeAnswer } from "../../src/cache/answer-codec.js";
import { cacheKey } from "../../src/cache/cache-key.js";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer } from "../../src/cache/coalescer.js";
import { createResponseCache } from "../../src/cache/create-response-cache.js";
import { openEntry, sealEntry } from "../../src/cache/entry-seal.js";
import { MemoryCache, type MemoryEntry } from "../../src/cache/memory-cache.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { cacheSchema, DEFAULT_CACHE } from "../../src/config/cache-config.js";
import { ConfigError } from "../../src/config/config-error.js";
import type { CacheableAnswer } from "../../src/gateway/response-cache.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { ChatParams } from "../../src/providers/provider.js";

const secret = new CacheSecret(Buffer.from("a cache secret for the unit tests"));
const openai = { provider: "openai", upstreamModel: "gpt-4o-mini" };
const request = (fields: Record<string, unknown> = {}) =>
  create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "What is 2 + 2?" }], temperature: 0, ...fields });
/** A call's partition, on a route with the default settings. */
const keyedAs = (partition: string, route = DEFAULT_CACHE.defaults) => ({ partition, route });
const keyOf = (fields: Record<string, unknown> = {}, candidate = openai, partition = "key:a", route = DEFAULT_CACHE.defaults) =>
  cacheKey(secret, request(fields), candidate, keyedAs(partition, route)).id;

describe("the cache key", () => {
  it("does not split on key order, aliases or fields that do not change the answer", () => {
    const base = keyOf({ vendorOptions: { enable_search: true, search_options: { a: 1, b: [1, { y: 2, x: 1 }] } } });
    expect(keyOf({ vendorOptions: { search_options: { b: [1, { x: 1, y: 2 }], a: 1 }, enable_search: true } })).toBe(base);
    // The requested name is an alias: what counts is the candidate it routes to.
    expect(cacheKey(secret, request({ model: "fast", vendorOptions: { enable_search: true, search_options: { a: 1, b: [1, { y: 2, x: 1 }] } } }), openai, keyedAs("key:a")).id).toBe(base);
    // Nor do the route settings that decide only which calls are cached and who shares them (the partition says who).
    expect(keyOf({ vendorOptions: { enable_search: true, search_options: { a: 1, b: [1, { y: 2, x: 1 }] } } }, openai, "key:a", { ...DEFAULT_CACHE.defaults, mode: "always" })).toBe(base);
    // The end user's id and the call's own cache directive ask nothing different.
    expect(keyOf({ user: "end-user-7", cacheControl: CacheControl.NO_CACHE, vendorOptions: { enable_search: true, search_options: { a: 1, b: [1, { y: 2, x: 1 }] } } })).toBe(base);
    // Tool schemas read the same whatever their key order.
    const tool = (parameters: Record<string, unknown>) => keyOf({ tools: [{ name: "lookup", description: "d", parameters }] });
    expect(tool({ type: "object", properties: { q: { type: "string" } } })).toBe(tool({ properties: { q: { type: "string" } }, type: "object" }));
  });

  it("splits on everything that changes the answer, and on the partition and candidate", () => {
    const base = keyOf();
    const changed = [
      keyOf({ messages: [{ role: Role.USER, content: "What is 2 + 3?" }] }),
      keyOf({ messages: [{ role: Role.SYSTEM, content: "Be terse." }, { role: Role.USER, content: "What is 2 + 2?" }] }),
      keyOf({ temperature: 0.5 }),
      keyOf({ seed: 7n }),
      keyOf({ topP: 0.5 }),
      keyOf({ maxTokens: 10 }),
      keyOf({ stop: ["4"] }),
      keyOf({ presencePenalty: 1 }),
      keyOf({ frequencyPenalty: 1 }),
      keyOf({ tools: [{ name: "lookup", description: "d" }] }),
      keyOf({ toolChoice: { choice: { case: "functionName", value: "lookup" } } }),
      keyOf({ responseFormat: { type: 2 } }),
      keyOf({ vendorOptions: { enable_search: true } }),
      keyOf({ reasoning: { effort: 2 } }),
      keyOf({}, { provider: "openai", upstreamModel: "gpt-4o" }),
      keyOf({}, { provider: "deepseek", upstreamModel: "gpt-4o-mini" }),
      keyOf({}, openai, "key:b"),
      keyOf({}, openai, "team:a"),
      // The route's rules for a kept answer: an entry is read only by routes that would have kept it, for as long.
      keyOf({}, openai, "key:a", { ...DEFAULT_CACHE.defaults, toolCalls: true }),
      keyOf({}, openai, "key:a", { ...DEFAULT_CACHE.defaults, truncated: true }),
      keyOf({}, openai, "key:a", { ...DEFAULT_CACHE.defaults, ttlMs: 3_000 }),
    ];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
  });

  it("keys what a request written in a vendor's dialect sends that vendor beyond the unified request, less the model, streaming and end-user id", () => {
    const body = { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "What is 2 + 2?" }] };
    const anthropic = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      cacheKey(secret, { ...request(), original: { dialect: "anthropic", body: { ...body, ...extra }, headers } }, openai, keyedAs("key:a")).id;
    const base = anthropic();
    expect(base).not.toBe(keyOf());
    for (const changed of [anthropic({ top_k: 5 }), anthropic({ output_config: { effort: "low" } }), anthropic({}, { "anthropic-beta": "context-1m-2025-08-07" })]) expect(changed).not.toBe(base);
    expect(anthropic({ model: "claude-alias", stream: true, metadata: { user_id: "session-7" } })).toBe(base);
  });

  it("keys the dialect vendor_options were written in: Claude is sent a Connect caller's options and has a Chat Completions caller's same options dropped", () => {
    const claude = { provider: "anthropic", upstreamModel: "claude-sonnet-4-5" };
    const connect: ChatParams = request({ vendorOptions: { store: true } });
    const chat: ChatParams = Object.assign(request({ vendorOptions: { store: true } }), { vendorOptionsDialect: "openai" });
    // What makes the two differ: the same options, sent on by one and dropped (and reported) for the other.
    const sent = (params: ChatParams) => fitChatRequest(params, undefined, "degrade", { model: claude.upstreamModel, dialect: "anthropic" });
    expect(sent(connect)).toMatchObject({ ok: true, params: { vendorOptions: { store: true } } });
    expect(sent(chat)).toMatchObject({ ok: true, params: { vendorOptions: undefined } });
    expect(cacheKey(secret, chat, claude, keyedAs("key:a")).id).not.toBe(cacheKey(secret, connect, claude, keyedAs("key:a")).id);
    // Without options the dialect they would be in sends nothing: a Chat Completions call and a typed call share entries.
    expect(cacheKey(secret, Object.assign(request(), { vendorOptionsDialect: "openai" }), claude, keyedAs("key:a")).id).toBe(cacheKey(secret, request(), claude, keyedAs("key:a")).id);
    // A surface's name for a field in its errors changes nothing sent.
    expect(cacheKey(secret, { ...connect, fieldNames: { stop: "stop_sequences" } }, claude, keyedAs("key:a")).id).toBe(cacheKey(secret, connect, claude, keyedAs("key:a")).id);
  });

  it("is a keyed hash: another secret names another entry", () => {
    const other = new CacheSecret(Buffer.from("another cache secret, another fleet"));
    expect(cacheKey(other, request(), openai, keyedAs("key:a")).id).not.toBe(keyOf());
  });
});

describe("the in-memory level (L1)", () => {
  const entry = (bytes: number, expiresAt: number, partition = "key:a"): MemoryEntry => ({ bytes: new Uint8Array(bytes), expiresAt, labels: { partition, provider: "openai", model: "gpt-4o-mini" } });

  it("drops the least recently used entries past its entry bound", () => {
    const evicted: string[] = [];
    const memory = new MemoryCache({ maxEntries: 2, maxBytes: 1_000_000, now: () => 0, onEvict: (reason) => evicted.push(reason) });
    memory.set("a", entry(10, 100));
    memory.set("b", entry(10, 100));
    memory.get("a"); // a is now the most recently used
    memory.set("c", entry(10, 100));
    expect([memory.get("a") !== undefined, memory.get("b") !== undefined, memory.get("c") !== undefined]).toEqual([true, false, true]);
    expect(evicted).toEqual(["capacity"]);
  });

  it("holds no more bytes than its bound, and refuses an entry larger than the whole", () => {
    const memory = new MemoryCache({ maxEntries: 100, maxBytes: 5_000, now: () => 0 });
    for (let i = 0; i < 10; i++) memory.set(`k${i}`, entry(500, 100));
    expect(memory.bytes).toBeLessThanOrEqual(5_000);
    // 500 bytes each, plus its id and what its objects take (ENTRY_OVERHEAD_BYTES): three fit.
    expect(memory.size).toBe(3);
    expect(memory.set("huge", entry(5_000, 100))).toBe(false);
    expect(memory.get("k9")).toBeDefined();
  });

  it("expires each entry at its own time (a clock the test drives)", () => {
    let now = 1_000;
    const evicted: string[] = [];
    const memory = new MemoryCache({ maxEntries: 10, maxBytes: 100_000, now: () => now, onEvict: (reason) => evicted.push(reason) });
    memory.set("short", entry(10, 1_500));
    memory.set("long", entry(10, 9_000));
    now = 1_499;
    expect(memory.get("short")).toBeDefined();
    now = 1_500;
    expect(memory.get("short")).toBeUndefined();
    expect(memory.get("long")).toBeDefined();
    expect(evicted).toEqual(["expired"]);
    expect(memory.size).toBe(1);
  });

  it("holds one partition to its share of each bound, making room from its own entries", () => {
    const memory = new MemoryCache({ maxEntries: 8, maxBytes: 100_000, maxPartitionShare: 0.25, now: () => 0 });
    for (const other of ["b1", "b2", "c1"]) memory.set(other, entry(10, 100, other.startsWith("b") ? "key:b" : "key:c"));
    // Key a asks many different questions: it keeps its two most recent answers, and pushes no one else's out.
    for (let i = 0; i < 20; i++) memory.set(`a${i}`, entry(10, 100, "key:a"));
    expect(["b1", "b2", "c1", "a18", "a19"].map((id) => memory.get(id) !== undefined)).toEqual([true, true, true, true, true]);
    expect(memory.get("a17")).toBeUndefined();
    expect(memory.size).toBe(5);
    // Bytes too: a quarter of 100,000 holds one entry of 20,000 bytes and its overhead, not two.
    memory.set("big1", entry(20_000, 100, "key:d"));
    memory.set("big2", entry(20_000, 100, "key:d"));
    expect([memory.get("big1"), memory.get("big2")].map((found) => found !== undefined)).toEqual([false, true]);
    expect(memory.set("too-big", entry(30_000, 100, "key:e"))).toBe(false);
    // A read keeps an entry the partition's most recent.
    memory.get("a18");
    memory.set("a20", entry(10, 100, "key:a"));
    expect([memory.get("a18"), memory.get("a19")].map((found) => found !== undefined)).toEqual([true, false]);
  });

  it("purges what a filter matches", () => {
    const memory = new MemoryCache({ maxEntries: 10, maxBytes: 100_000, now: () => 0 });
    memory.set("a1", entry(10, 100, "key:a"));
    memory.set("a2", entry(10, 100, "key:a"));
    memory.set("b1", entry(10, 100, "key:b"));
    expect(memory.purge((labels) => labels.partition === "key:a")).toBe(2);
    expect(memory.size).toBe(1);
  });
});

const answer: CacheableAnswer = {
  id: "chatcmpl-1",
  message: create(MessageSchema, { role: Role.ASSISTANT, content: "The answer is four. ".repeat(40) }),
  finishReason: FinishReason.STOP,
  usage: create(UsageSchema, { promptTokens: 12, completionTokens: 160, totalTokens: 172 }),
  served: openai,
};

describe("sealed entries (L2)", () => {
  it("open to the same answer under the partition's key and id, and to nothing else", () => {
    const plain = encodeAnswer(answer);
    const key = secret.partitionKey("key:a");
    const sealed = sealEntry(plain, key, "entry-1", 5_000);
    const opened = openEntry(sealed, key, "entry-1");
    expect(opened.expiresAt).toBe(5_000);
    expect(decodeAnswer(opened.plain)).toEqual(answer);
    // Compressed: the repeated answer takes far less room than it reads.
    expect(sealed.length).toBeLessThan(plain.length / 2);
    expect(() => openEntry(sealed, secret.partitionKey("key:b"), "entry-1")).toThrow();
    expect(() => openEntry(sealed, key, "entry-2")).toThrow();
    const tampered = Buffer.from(sealed);
    tampered.writeBigUInt64BE(9_999_999n, 2); // a longer life
    expect(() => openEntry(tampered, key, "entry-1")).toThrow();
  });

  it("show no word of the answer", () => {
    const small = { ...answer, message: create(MessageSchema, { role: Role.ASSISTANT, content: "four" }) };
    for (const sealed of [sealEntry(encodeAnswer(answer), secret.partitionKey("p"), "i", 1), sealEntry(encodeAnswer(small), secret.partitionKey("p"), "i", 1)]) {
      const text = sealed.toString("latin1");
      expect(text).not.toContain("four");
      expect(text).not.toContain("gpt-4o-mini");
    }
  });
});

describe("the cache policy", () => {
  const routes = [
    { model: "always-*", provider: "openai", cache: { ...DEFAULT_CACHE.defaults, mode: "always" as const, share: "team" as const, toolCalls: true } },
    { model: "never-*", provider: "openai", cache: { ...DEFAULT_CACHE.defaults, mode: "off" as const } },
  ];
  const policy = new CachePolicy(routes, DEFAULT_CACHE.defaults);
  const principal = { keyId: "key-a", name: "a", admin: false, team: "payments" };
  const decide = (fields: Record<string, unknown>, candidate = openai) => policy.forCall(request(fields), candidate, principal);

  it("caches deterministic requests by default, per key", () => {
    expect(decide({ temperature: 0 })).toMatchObject({ partition: "key:key-a", read: true });
    expect(decide({ temperature: undefined, seed: 3n })).toMatchObject({ read: true });
    expect(decide({ temperature: 0.7 })).toBe("not_deterministic");
    expect(decide({ temperature: undefined })).toBe("not_deterministic");
  });

  it("follows the route's mode and sharing, and the caller's directive", () => {
    expect(decide({ model: "always-on", temperature: 0.9 }, { provider: "openai", upstreamModel: "always-on" })).toMatchObject({ partition: "team:payments" });
    expect(decide({ model: "never-cached" }, { provider: "openai", upstreamModel: "never-cached" })).toBe("mode_off");
    expect(decide({ cacheControl: CacheControl.NO_STORE })).toBe("no_store");
    expect(decide({ cacheControl: CacheControl.NO_CACHE })).toMatchObject({ read: false, replace: true });
    // A refresh of a shared partition fills it, never replaces what the others are served.
    const always = { provider: "openai", upstreamModel: "always-on" };
    expect(decide({ model: "always-on", cacheControl: CacheControl.NO_CACHE }, always)).toMatchObject({ partition: "team:payments", read: false, replace: false });
    expect(decide({ model: "always-on" }, always)).toMatchObject({ read: true, replace: true });
    // A key without a team has a partition of its own on a team route: its refresh replaces as with share: key.
    expect(policy.forCall(request({ model: "always-on", cacheControl: CacheControl.NO_CACHE }), always, { ...principal, team: "" })).toMatchObject({ partition: "key:key-a", replace: true });
  });

  it("keeps no refusals, cut answers, tool calls or fallback answers unless the route asks", () => {
    const route = DEFAULT_CACHE.defaults;
    const with_ = (fields: Partial<CacheableAnswer>, message: Record<string, unknown> = {}) => ({ ...answer, ...fields, message: create(MessageSchema, { ...answer.message, ...message }) });
    expect(policy.notStorable(answer, openai, route)).toBeUndefined();
    expect(policy.notStorable(with_({ finishReason: FinishReason.LENGTH }), openai, route)).toBe("length");
    expect(policy.notStorable(with_({ finishReason: FinishReason.LENGTH }), openai, { ...route, truncated: true })).toBeUndefined();
    // Cut by a full context window: as cut at max_tokens.
    expect(policy.notStorable(with_({ finishReason: FinishReason.CONTEXT_WINDOW_EXCEEDED }), openai, route)).toBe("length");
    expect(policy.notStorable(with_({ finishReason: FinishReason.CONTEXT_WINDOW_EXCEEDED }), openai, { ...route, truncated: true })).toBeUndefined();
    expect(policy.notStorable(with_({ finishReason: FinishReason.CONTENT_FILTER }), openai, route)).toBe("content_filter");
    expect(policy.notStorable(with_({ finishReason: FinishReason.REFUSAL }, { refusal: "I can't help with that." }), openai, route)).toBe("refusal");
    const toolCall = with_({ finishReason: FinishReason.TOOL_CALLS }, { toolCalls: [{ id: "call_1", name: "lookup", arguments: "{}" }] });
    expect(policy.notStorable(toolCall, openai, route)).toBe("tool_calls");
    expect(policy.notStorable(toolCall, openai, { ...route, toolCalls: true })).toBeUndefined();
    expect(policy.notStorable(with_({ served: { provider: "deepseek", upstreamModel: "deepseek-chat" } }), openai, route)).toBe("fallback");
  });

  it("keeps only finished answers: no finish reason, or one the gateway does not know, is not kept", () => {
    const route = { ...DEFAULT_CACHE.defaults, toolCalls: true, truncated: true };
    expect(policy.notStorable({ ...answer, finishReason: FinishReason.UNSPECIFIED }, openai, route)).toBe("unfinished");
    expect(policy.notStorable({ ...answer, finishReason: 99 as FinishReason }, openai, route)).toBe("unfinished");
    expect(policy.notStorable({ ...answer, finishReason: FinishReason.STOP }, openai, route)).toBeUndefined();
    expect(policy.notStorable({ ...answer, finishReason: FinishReason.LENGTH }, openai, route)).toBeUndefined();
  });

  it("keeps no answer that says nothing, though the vendor finished it: asking again is how a caller gets one that does", () => {
    const says = (message: Record<string, unknown>) => ({ ...answer, message: create(MessageSchema, { ...answer.message, ...message }) });
    expect(policy.notStorable(says({ content: "" }), openai, DEFAULT_CACHE.defaults)).toBe("empty");
    expect(policy.notStorable(says({ content: "", reasoningContent: "The user wants nothing." }), openai, DEFAULT_CACHE.defaults)).toBe("empty");
    const toolCall = says({ content: "", toolCalls: [{ id: "call_1", name: "lookup", arguments: "{}" }] });
    expect(policy.notStorable({ ...toolCall, finishReason: FinishReason.TOOL_CALLS }, openai, { ...DEFAULT_CACHE.defaults, toolCalls: true })).toBeUndefined();
  });

  it("gives each route that shares its answers a partition of its own", () => {
    const shared = { ...DEFAULT_CACHE.defaults, share: "route" as const };
    const twoRoutes = new CachePolicy(
      [
        { model: "hr-bot", provider: "openai", upstreamModel: "gpt-4o-mini", cache: shared },
        { model: "public-bot", provider: "openai", upstreamModel: "gpt-4o-mini", cache: shared },
      ],
      DEFAULT_CACHE.defaults,
    );
    const partition = (model: string, keyId: string) => (twoRoutes.forCall(request({ model }), openai, { ...principal, keyId }) as { partition: string }).partition;
    expect(partition("hr-bot", "key-a")).toBe(partition("hr-bot", "key-b"));
    expect(partition("hr-bot", "key-a")).not.toBe(partition("public-bot", "key-a"));
  });

  it("follows the route of the economy model a downgraded call is served by", () => {
    const economy = new CachePolicy(
      [
        { model: "gpt-4o", provider: "openai", cache: { ...DEFAULT_CACHE.defaults, mode: "always" as const } },
        { model: "gpt-4o-mini", provider: "openai", cache: { ...DEFAULT_CACHE.defaults, mode: "off" as const } },
      ],
      DEFAULT_CACHE.defaults,
    );
    const saver = { ...principal, policy: { economyFor: (model: string) => (model === "gpt-4o" ? "gpt-4o-mini" : undefined) } as unknown as KeyPolicy };
    // Downgraded: the candidates are gpt-4o-mini's, whose route caches nothing.
    expect(economy.forCall(request({ model: "gpt-4o" }), openai, saver)).toBe("mode_off");
    // Not downgraded: gpt-4o's own route.
    expect(economy.forCall(request({ model: "gpt-4o", temperature: 0.9 }), { provider: "openai", upstreamModel: "gpt-4o" }, saver)).toMatchObject({ read: true });
  });
});

describe("the cache's settings and secret", () => {
  it("bound how long a call waits for an identical one, in the process and across the fleet", () => {
    expect(cacheSchema.safeParse({ coalesce: { wait_ms: 120_000, remote_wait_ms: 30_000 } }).success).toBe(true);
    expect(cacheSchema.safeParse({ coalesce: { wait_ms: 3_600_000 } }).success).toBe(false);
    expect(cacheSchema.safeParse({ coalesce: { remote_wait_ms: 600_000 } }).success).toBe(false);
    expect(cacheSchema.safeParse({ coalesce: { stall_ms: 120_000 } }).success).toBe(true);
    expect(cacheSchema.safeParse({ coalesce: { stall_ms: 0 } }).success).toBe(false);
  });

  it("refuses a SWITCHBOARD_CACHE_REDIS_URL it cannot use, naming the variable and never its password", async () => {
    const made = createResponseCache({
      config: DEFAULT_CACHE,
      routes: [],
      env: { SWITCHBOARD_CACHE_REDIS_URL: "http://cache:hunter2-secret@127.0.0.1:1" },
      hasher: new KeyHasher(Buffer.from("a pepper of at least sixteen bytes")),
      redis: undefined,
      redisPrefix: "units:",
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger: createLogger("silent"),
    });
    await expect(made).rejects.toThrow(ConfigError);
    await expect(made).rejects.toThrow(/^environment: SWITCHBOARD_CACHE_REDIS_URL: must start with redis:\/\//);
    await expect(made).rejects.not.toThrow(/hunter2/);
  });

  it("derives the cache's root from the pepper apart from anything a key digest could be", () => {
    const hasher = new KeyHasher(Buffer.from("a pepper of at least sixteen bytes"));
    const derived = CacheSecret.fromEnv({}, hasher);
    // The old derivation was the digest of a string a gateway key could be; the new root is no key's digest.
    const asKeyDigest = new CacheSecret(hasher.digest("switchboard response cache v1"));
    expect(cacheKey(derived, request(), openai, keyedAs("key:a")).id).not.toBe(cacheKey(asKeyDigest, request(), openai, keyedAs("key:a")).id);
    // Stable: every instance with the pepper derives the same.
    expect(cacheKey(CacheSecret.fromEnv({}, hasher), request(), openai, keyedAs("key:a")).id).toBe(cacheKey(derived, request(), openai, keyedAs("key:a")).id);
  });
});

describe("coalescing in one process", () => {
  const key = { id: "same-question", partition: "key:a", provider: "openai", model: "gpt-4o-mini" };
  const never = () => undefined;
  const caller = () => ({ signal: new AbortController().signal });

  it("hands the leader's answer to the calls waiting on it", async () => {
    const coalescer = new Coalescer({ waitMs: 60_000, remoteWaitMs: 5_000 });
    const leader = await coalescer.join(key, caller(), never);
    expect(leader.kind).toBe("lead");
    const followers = [coalescer.join(key, caller(), never), coalescer.join(key, caller(), never)];
    await expect.poll(() => coalescer.waiting).toBe(2);
    (leader as Extract<typeof leader, { kind: "lead" }>).lead.finish(new Uint8Array([42]));
    expect(await Promise.all(followers)).toEqual([
      { kind: "answer", plain: new Uint8Array([42]) },
      { kind: "answer", plain: new Uint8Array([42]) },
    ]);
    // The flight is over: the next identical call leads again.
    expect((await coalescer.join(key, caller(), never)).kind).toBe("lead");
  });

  it("lets the waiting calls go their own way when the leader has nothing to share, and a caller give up", async () => {
    const coalescer = new Coalescer({ waitMs: 60_000, remoteWaitMs: 5_000 });
    const leader = (await coalescer.join(key, caller(), never)) as { kind: "lead"; lead: { finish(plain?: Uint8Array): void } };
    const waiting = coalescer.join(key, caller(), never);
    const cancelled = new AbortController();
    const givingUp = coalescer.join(key, { signal: cancelled.signal }, never);
    cancelled.abort(new Error("the client went away"));
    await expect(givingUp).rejects.toThrow("the client went away");
    leader.lead.finish(undefined);
    expect(await waiting).toEqual({ kind: "alone" });
  });

  it("waits no longer than its bound, and never on a flight older than that", async () => {
    let now = 0;
    const coalescer = new Coalescer({ waitMs: 1_000, remoteWaitMs: 1_000, now: () => now });
    await coalescer.join(key, caller(), never); // a leader that never finishes
    // A caller whose deadline has passed does not wait at all: its call ends.
    await expect(coalescer.join(key, { ...caller(), deadline: 0 }, never)).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    now = 1_001;
    expect((await coalescer.join(key, caller(), never)).kind).toBe("lead");
  });
});
