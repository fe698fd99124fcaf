import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { startRedis, type RunningService } from "../support/services.js";
import { tempDir } from "../support/stores.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";
import { startGatedVendor } from "./support/gated-vendor.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { eventually } from "../secrets/support/bao.js";

/** The TTL of the "brief-*" route's entries. */
const BRIEF_TTL_MS = 2_000;

/** A deterministic question (temperature 0): cached by default. */
const ask = (content: string, model = "gpt-4o-mini") => ({ model, messages: [{ role: Role.USER, content }], temperature: 0 });

async function metric(gw: TestGateway, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

// Several gateway instances behind an imaginary load balancer, sharing one
// Redis (the cache's L2, coalescing locks, purge news) and one Postgres. No
// SWITCHBOARD_CACHE_KEY: the cache's secret comes from the shared pepper.
describe("the response cache shared through Redis", () => {
  let world: UsageWorld;
  let a: TestGateway;
  let b: TestGateway;
  let redis: Redis;
  const prefix = () => world.env.REDIS_PREFIX!;
  const vendorCalls = () => world.fake.chatRequests().length;
  const entries = () => redis.keys(`${prefix()}cache:e:*`);
  beforeAll(async () => {
    world = await startUsageWorld("postgres+redis", {
      routes: [
        // Long enough for two calls and two Redis reads on a loaded machine before it runs out; short enough to wait out.
        { model: "brief-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { ttl_ms: BRIEF_TTL_MS } },
        { model: "public-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "route" } },
      ],
      // The fifty calls below wait while the test gathers them, however busy the machine.
      cache: { coalesce: { remote_wait_ms: 30_000 } },
    });
    a = world.gw;
    b = await world.start();
    redis = new Redis(world.env.REDIS_URL!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await world.close();
  });

  it("answers on one instance what another instance asked (L2), then from its own memory (L1)", async () => {
    const first = await a.client("connect").chat(ask("Which instance answers this?"));
    const calls = vendorCalls();
    // Written to Redis after the answer: asked before that, b would wait on a's lock (coalesced), not read the entry.
    await eventually(async () => expect((await redis.keys(`${prefix()}cache:e:*`)).length).toBeGreaterThan(0), 5_000);
    const fromRedis = await b.client("connect").chat(ask("Which instance answers this?"));
    const fromMemory = await b.client("grpc").chat(ask("Which instance answers this?"));
    expect([first.cached, fromRedis.cached, fromMemory.cached]).toEqual([false, true, true]);
    expect(fromRedis.message).toEqual(first.message);
    expect(vendorCalls()).toBe(calls);
    expect(await metric(b, /^switchboard_cache_hits_total\{level="l2"/)).toBe(1);
    expect(await metric(b, /^switchboard_cache_hits_total\{level="l1"/)).toBe(1);
  });

  it("never gives one tenant another's cached answer, on any instance", async () => {
    const admin = world.admin();
    const tenantA = await admin.createKey({ key: { displayName: "tenant a" } });
    const tenantB = await admin.createKey({ key: { displayName: "tenant b" } });
    const question = ask("What did our board decide yesterday?");
    const before = vendorCalls();
    expect((await a.client("connect", tenantA.secret).chat(question)).cached).toBe(false);
    expect((await b.client("connect", tenantB.secret).chat(question)).cached).toBe(false);
    expect((await a.client("connect", tenantB.secret).chat(question)).cached).toBe(true);
    expect((await b.client("connect", tenantA.secret).chat(question)).cached).toBe(true);
    expect(vendorCalls()).toBe(before + 2);
  });

  it("keeps a shared answer in Redis when a caller on another instance refreshes it", async () => {
    const admin = world.admin();
    const [asker, refresher] = await Promise.all([admin.createKey({ key: { displayName: "asker" } }), admin.createKey({ key: { displayName: "refresher" } })]);
    const question = { ...ask("What are the opening hours?"), model: "public-bot" };
    const before = (await entries()).length;
    const first = await a.client("connect", asker.secret).chat(question);
    // Written to Redis after the answer: looked for before that, the refresh would find no entry and keep its own.
    await eventually(async () => expect((await entries()).length).toBe(before + 1), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the fake's ids carry the millisecond
    const calls = vendorCalls();
    // b's memory has no entry, Redis has: the refresh is answered afresh, and not kept.
    const refreshed = await b.client("connect", refresher.secret).chat({ ...question, cacheControl: CacheControl.NO_CACHE });
    expect([refreshed.cached, refreshed.id === first.id, vendorCalls()]).toEqual([false, false, calls + 1]);
    for (const [gateway, key] of [[b, refresher], [b, asker], [a, refresher]] as const) {
      const again = await gateway.client("connect", key.secret).chat(question);
      expect([again.cached, again.id]).toEqual([true, first.id]);
    }
    expect(vendorCalls()).toBe(calls + 1);
  });

  it("makes one vendor call for 50 identical calls in flight across two instances", async () => {
    const gate = await startGatedVendor(world.fake.baseUrl);
    const c = await world.start({ OPENAI_BASE_URL: gate.baseUrl });
    const d = await world.start({ OPENAI_BASE_URL: gate.baseUrl });
    try {
      const question = "Fifty callers ask this at once";
      const rest = (gw: TestGateway) =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }], temperature: 0 }),
        }).then(async (res) => ({ cache: res.headers.get("x-switchboard-cache"), content: ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content }));
      const typed = (gw: TestGateway) =>
        gw
          .client("connect")
          .chat(ask(question))
          .then((answer) => ({ cache: answer.coalesced ? "coalesced" : answer.cached ? "hit" : "miss", content: answer.message!.content }));
      // 20 Connect and 5 REST calls on each instance: the same question, whatever the surface.
      const calls = Array.from({ length: 50 }, (_, i) => ((i % 10) % 5 === 4 ? rest : typed)(i % 2 === 0 ? c : d));
      // Every call but the leader waits for it (in its process, or polling Redis for the other instance's answer)...
      await expect.poll(async () => gate.received === 1 && (await metric(c, /^switchboard_cache_coalesce_waiting /)) + (await metric(d, /^switchboard_cache_coalesce_waiting /)), { timeout: 15_000 }).toBe(49);
      gate.open();
      const answers = await Promise.all(calls);
      // ...and gets its answer.
      expect(gate.received).toBe(1);
      expect(new Set(answers.map((answer) => answer.content))).toEqual(new Set([`Echo: ${question}`]));
      expect(answers.filter((answer) => answer.cache === "miss")).toHaveLength(1);
      expect(answers.filter((answer) => answer.cache === "coalesced")).toHaveLength(49);
      expect((await metric(c, /^switchboard_cache_coalesced_total/)) + (await metric(d, /^switchboard_cache_coalesced_total/))).toBe(49);
    } finally {
      gate.open();
      await Promise.all([c.stop(), d.stop()]);
      await gate.close();
    }
  });

  it("expires entries after the route's TTL, in Redis (PX) and in memory", async () => {
    const question = ask("short-lived", "brief-model");
    expect((await a.client("connect").chat(question)).cached).toBe(false);
    expect((await b.client("connect").chat(question)).cached).toBe(true);
    const before = (await entries()).length;
    expect(before).toBeGreaterThan(0);
    const pttl = Math.max(...(await Promise.all((await entries()).map((key) => redis.pttl(key)))).filter((ms) => ms <= BRIEF_TTL_MS));
    expect(pttl).toBeGreaterThan(0);
    // Redis drops it when its PX runs out; memory holds it no longer.
    await expect.poll(async () => (await entries()).length, { timeout: BRIEF_TTL_MS + 10_000, interval: 50 }).toBe(before - 1);
    const calls = vendorCalls();
    expect((await b.client("connect").chat(question)).cached).toBe(false);
    expect(vendorCalls()).toBe(calls + 1);
  });

  it("leaves nothing readable in a Redis dump: no answer, no question, no key or team or model name", async () => {
    const admin = world.admin();
    const { secret } = await admin.createKey({ keyId: "dump-tenant", key: { displayName: "dump", team: "secret-team" } });
    const phrase = "Zanzibar-owl-4471";
    for (const gw of [a, b]) {
      await gw.client("connect", secret).chat(ask(`the passphrase is ${phrase}`));
      await gw.client("connect", secret).chat({ ...ask(`a long one: ${phrase} `.repeat(50)) });
    }
    const keys = await redis.keys(`${prefix()}*`);
    const cacheKeys = keys.filter((key) => key.startsWith(`${prefix()}cache:`));
    expect(cacheKeys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      for (const needle of [phrase, "dump-tenant", "secret-team", "gpt-4o-mini", "passphrase"]) expect(key).not.toContain(needle);
      const dumped = (await redis.dumpBuffer(key))?.toString("latin1") ?? "";
      const value = (await redis.type(key)) === "string" ? ((await redis.getBuffer(key))?.toString("latin1") ?? "") : "";
      for (const text of [dumped, value]) {
        expect(text).not.toContain(phrase);
        expect(text).not.toContain("Echo:");
        expect(text).not.toContain("passphrase");
      }
    }
  });

  it("purges a key's entries from Redis and from every instance's memory", async () => {
    const admin = world.admin();
    const { secret } = await admin.createKey({ keyId: "purge-fleet", key: { displayName: "purge" } });
    const question = ask("purge across the fleet");
    await a.client("connect", secret).chat(question);
    expect((await b.client("connect", secret).chat(question)).cached).toBe(true); // now in b's memory too
    expect((await admin.purgeCache({ key: "keys/purge-fleet" })).purgedEntries).toBeGreaterThanOrEqual(2n); // Redis's and a's own
    // b hears of it through Redis pub/sub and drops its copy.
    await expect.poll(async () => (await b.client("connect", secret).chat(question)).cached, { timeout: 10_000 }).toBe(false);
  });
});

describe("the response cache when Redis stops mid-run", () => {
  let redis: RunningService;
  let gw: TestGateway;
  let closeFake: () => Promise<void>;
  beforeAll(async () => {
    redis = await startRedis();
    const fake = await startOpenAIFake({ apiKey: "sk-up" });
    closeFake = () => fake.close();
    gw = await startGateway({
      OPENAI_API_KEY: "sk-up",
      OPENAI_BASE_URL: fake.baseUrl,
      REDIS_URL: redis.env.SWITCHBOARD_TEST_REDIS_URL!,
      REDIS_PREFIX: "cache-outage:",
      SWITCHBOARD_CACHE_KEY: "a cache key for the outage test",
      SWITCHBOARD_DATA_DIR: tempDir(),
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await closeFake?.();
    await redis?.stop();
  });

  it("serves every call, from memory where it can, and counts and logs what Redis could not do", async () => {
    const client = gw.client("connect");
    expect((await client.chat(ask("before the outage"))).cached).toBe(false);
    await redis.stop();
    await expect.poll(() => metric(gw, /^switchboard_redis_up /), { timeout: 5_000 }).toBe(0);
    expect((await client.chat(ask("before the outage"))).cached).toBe(true);
    const during = await client.chat(ask("during the outage"));
    expect([during.cached, during.message?.content]).toEqual([false, "Echo: during the outage"]);
    expect((await client.chat(ask("during the outage"))).cached).toBe(true);
    const stream = client.chatStream(ask("a stream during the outage"));
    let content = "";
    for await (const event of stream) if (event.event.case === "delta") content += event.event.value.content;
    expect(content).toBe("Echo: a stream during the outage");
    expect(await metric(gw, /^switchboard_redis_errors_total\{operation="cache_/)).toBeGreaterThan(0);
    expect(gw.logs.text).toContain("the response cache is served from this instance's memory only");
  });
});

describe("the response cache in a Redis of its own", () => {
  let cacheRedis: RunningService;
  let gw: TestGateway;
  let closeFake: () => Promise<void>;
  const prefix = "cache-own:";
  beforeAll(async () => {
    cacheRedis = await startRedis();
    const fake = await startOpenAIFake({ apiKey: "sk-up" });
    closeFake = () => fake.close();
    gw = await startGateway(
      {
        OPENAI_API_KEY: "sk-up",
        OPENAI_BASE_URL: fake.baseUrl,
        REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"),
        REDIS_PREFIX: prefix,
        SWITCHBOARD_CACHE_REDIS_URL: cacheRedis.env.SWITCHBOARD_TEST_REDIS_URL!,
        SWITCHBOARD_CACHE_KEY: "a cache key for the own-Redis test",
        SWITCHBOARD_DATA_DIR: tempDir(),
      },
      // No memory level: a hit can only come from Redis.
      { cache: { memory: { max_entries: 0 } } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await closeFake?.();
    await cacheRedis?.stop();
  });

  it("keeps its entries in SWITCHBOARD_CACHE_REDIS_URL, none in the Redis of limits and budgets", async () => {
    const client = gw.client("connect");
    const own = new Redis(cacheRedis.env.SWITCHBOARD_TEST_REDIS_URL!);
    const shared = new Redis(requireService("SWITCHBOARD_TEST_REDIS_URL"));
    try {
      expect((await client.chat(ask("kept apart"))).cached).toBe(false);
      // The entry is written after the answer is sent, so the next call may only find it once it is there.
      await eventually(async () => expect((await own.keys(`${prefix}cache:e:*`)).length).toBe(1), 5_000);
      expect((await client.chat(ask("kept apart"))).cached).toBe(true);
      expect(await shared.keys(`${prefix}cache:*`)).toEqual([]);
    } finally {
      own.disconnect();
      shared.disconnect();
    }
  });
});
