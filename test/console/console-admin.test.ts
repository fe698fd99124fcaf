import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BreakerState, type CallEvent } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storeEnv, type StoreKind } from "../support/stores.js";

const HOUR_MS = 3_600_000;
const ask = (content: string) => ({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content }] });

// The AdminService methods the web console is built on, through a real
// gateway and the OpenAI fake: WatchCalls (the live tail), GetUsageStats
// (charts), GetLiveStats (latency and breakers), and read-only admin keys.
describe.each<StoreKind>(["sqlite", "postgres"])("the console's API on %s", (kind) => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  let drop: () => Promise<void>;
  const admin = (key?: string) => createClient(AdminService, gw.transport("connect", key));

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 1 });
    const store = await storeEnv(kind);
    drop = store.drop;
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, ...store.env });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
    await drop();
  });

  it("WatchCalls streams each finished call with its key, tokens, cost and attempts, never its content, filtered as asked", async () => {
    const { secret } = await admin().createKey({ keyId: "tail-key", key: { displayName: "tail", team: "web" } });
    const stop = new AbortController();
    const seen: CallEvent[] = [];
    const watching = (async () => {
      for await (const res of admin().watchCalls({ key: "keys/tail-key" }, { signal: stop.signal })) seen.push(res.call!);
    })().catch(() => {});
    // The watch is on once a call of the key reaches it.
    const tailKey = gw.client("connect", secret);
    await vi.waitFor(async () => {
      await tailKey.listModels({});
      expect(seen.length).toBeGreaterThan(0);
    });
    await gw.client("connect").chat(ask("from the master key"));
    for await (const _ of tailKey.chatStream(ask("private words"))) void _;
    await tailKey.chat({ model: "no-such-model", messages: [{ role: Role.USER, content: "hi" }] }).catch(() => {});
    const mine = () => seen.filter((c) => !c.method.endsWith("/ListModels"));
    await vi.waitFor(() => expect(mine()).toHaveLength(2));
    stop.abort();
    await watching;

    const [stream, failed] = mine();
    expect(stream).toMatchObject({ key: "keys/tail-key", team: "web", surface: "connect", method: "switchboard.v1.AIService/ChatStream", requestedModel: "gpt-4o-mini", provider: "openai", model: "gpt-4o-mini", status: "ok", errorReason: "", attempts: 1 });
    expect(stream!.completionTokens).toBeGreaterThan(0n);
    expect(stream!.cost?.currencyCode).toBe("USD");
    expect(Number(stream!.cost!.units) * 1e9 + stream!.cost!.nanos).toBeGreaterThan(0);
    expect(stream!.timeToFirstToken).toBeDefined();
    expect(failed).toMatchObject({ key: "keys/tail-key", status: "not_found", errorReason: "MODEL_NOT_FOUND", requestedModel: "no-such-model" });
    expect(seen.every((c) => c.key === "keys/tail-key")).toBe(true);
    expect(JSON.stringify(seen, (_, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("private words");
  });

  it("GetUsageStats sums the ledger per time bucket, a series per group, the most expensive first", async () => {
    const now = Date.now();
    const stats = await admin().getUsageStats({ startTime: timestampFromMs(now - 2 * HOUR_MS), bucketWidth: durationFromMs(HOUR_MS), groupBy: UsageDimension.KEY });
    expect(timestampMs(stats.startTime!) % HOUR_MS).toBe(0);
    expect(stats.bucketWidth?.seconds).toBe(3600n);
    const series = Object.fromEntries(stats.series.map((s) => [s.group, s.buckets]));
    const thisHour = Math.floor(now / HOUR_MS) * HOUR_MS;
    const tail = series["keys/tail-key"]!;
    expect(tail.map((b) => timestampMs(b.startTime!))).toEqual([thisHour]);
    // The call to an unknown model was refused before the ledger: the tail showed it, usage does not count it.
    expect(tail[0]).toMatchObject({ requests: 1n, errors: 0n });
    expect(series["keys/master"]?.[0]?.requests).toBe(1n);

    const one = await admin().getUsageStats({ bucketWidth: durationFromMs(5 * 60_000) });
    expect(one.series).toHaveLength(1);
    expect(one.series[0]!.group).toBe("");
    expect(one.series[0]!.buckets.reduce((sum, b) => sum + b.requests, 0n)).toBe(2n);
  });

  it("GetUsageStats names what is wrong with a request", async () => {
    const bad = await failure(admin().getUsageStats({ bucketWidth: durationFromMs(90_500), groupBy: UsageDimension.DAY }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("bucket_width");
    expect(bad.rawMessage).toContain("group_by");
    const tooMany = await failure(admin().getUsageStats({ startTime: timestampFromMs(Date.now() - 30 * 24 * HOUR_MS), bucketWidth: durationFromMs(60_000) }));
    expect(tooMany.rawMessage).toContain("more than 1000 buckets");
  });

  it("GetLiveStats reports each provider's attempts, latency percentiles, time to first token and breaker", async () => {
    const live = await admin().getLiveStats({});
    const openai = live.providers.find((p) => p.name === "providers/openai")!;
    expect(openai.attempts).toBeGreaterThanOrEqual(2n);
    expect(openai.failedAttempts).toBe(0n);
    expect(openai.latencyP50).toBeDefined();
    expect(openai.streams).toBeGreaterThanOrEqual(1n);
    expect(openai.timeToFirstTokenP95).toBeDefined();
    expect(openai.breaker).toBe(BreakerState.CLOSED);
    expect(openai.serving).toBe(true);
    expect(timestampMs(live.startTime!)).toBeLessThanOrEqual(timestampMs(live.endTime!));
  });

  it("a read-only admin key reads (Get, List, Watch) but changes nothing, with the reason", async () => {
    const { secret } = await admin().createKey({ keyId: "viewer", key: { displayName: "viewer", admin: true, adminReadOnly: true } });
    const viewer = admin(secret);
    expect((await viewer.getKey({ name: "keys/viewer" })).key?.adminReadOnly).toBe(true);
    await viewer.listKeys({});
    await viewer.getUsageStats({});
    await viewer.getLiveStats({});
    await viewer.listProviders({});
    for (const change of [viewer.createKey({ key: { displayName: "x" } }), viewer.revokeKey({ name: "keys/tail-key" }), viewer.disableKey({ name: "providers/openai/credentials/env" })]) {
      const refused = await failure(change);
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(reasonOf(refused)).toBe("ADMIN_READ_ONLY");
    }
    expect((await admin().getKey({ name: "keys/tail-key" })).key?.revokeTime).toBeUndefined();
    // The flag is a setting like the others: cleared with a mask, and refused without the admin scope.
    const cleared = await admin().updateKey({ key: { name: "keys/viewer", adminReadOnly: false }, updateMask: { paths: ["admin_read_only"] } });
    expect(cleared.key?.adminReadOnly).toBe(false);
    const alone = await failure(admin().createKey({ key: { displayName: "lonely", adminReadOnly: true } }));
    expect(alone.code).toBe(Code.InvalidArgument);
    expect(alone.rawMessage).toContain("key.admin_read_only");
  });

  it("a key without the admin scope cannot watch calls", async () => {
    const { secret } = await admin().createKey({ key: { displayName: "plain" } });
    const refused = await failure((async () => {
      for await (const _ of admin(secret).watchCalls({})) void _;
    })());
    expect(reasonOf(refused)).toBe("ADMIN_SCOPE_REQUIRED");
  });
});

describe("a watch and shutdown", () => {
  it("ends when the gateway shuts down, instead of holding the drain", async () => {
    const gw = await startGateway({});
    const ended = (async () => {
      for await (const _ of createClient(AdminService, gw.transport("connect")).watchCalls({})) void _;
      return "ended";
    })().catch((err: unknown) => `failed: ${String(err)}`);
    // Calls (the watch among them) are in flight before the stop.
    await gw.client("connect").listModels({});
    await gw.stop();
    expect(await ended).toBe("ended");
  });
});
