import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminRights, type WatchCallsResponse } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const HOUR_MS = 3_600_000;
/** Model names a key scoped `gpt-4o*` may make up: each call is answered 404 by the vendor, costs nothing, and leaves a ledger row under its name. */
const MADE_UP = Array.from({ length: 25 }, (_, i) => `gpt-4o-made-up-${String(i).padStart(2, "0")}`);

// What the console's pages are built on, at their bounds: GetUsageStats
// answers with a bounded number of series however many groups callers make
// up; GetLiveStats tells the key that asked what it may do; WatchCalls can
// confirm that a watch is on before any call comes.
describe("the console's API at its bounds", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const admin = (key?: string) => createClient(AdminService, gw.transport("connect", key));

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
    const { secret } = await admin().createKey({ keyId: "sprayer", key: { displayName: "sprayer", allowedModels: ["gpt-4o*"] } });
    const caller = gw.client("connect", secret);
    await caller.chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "the one that costs" }] });
    for (const model of MADE_UP) await caller.chat({ model, messages: [{ role: Role.USER, content: "hi" }] }).catch(() => {});
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  const byModel = (maxSeries?: number) => admin().getUsageStats({ startTime: timestampFromMs(Date.now() - HOUR_MS), groupBy: UsageDimension.MODEL, maxSeries });

  it("GetUsageStats answers the 20 most expensive series and sums the rest into one '(other)' series, saying how many it holds", async () => {
    const { series } = await byModel();
    expect(series).toHaveLength(21);
    expect(series[0]!.group).toBe("gpt-4o-mini");
    expect(series.slice(0, 20).every((s) => s.foldedGroups === 0)).toBe(true);
    const other = series[20]!;
    expect(other).toMatchObject({ group: "(other)", foldedGroups: 6 });
    // Nothing is lost: the series sum every call, the folded ones in the last.
    const requests = (s: (typeof series)[number]) => s.buckets.reduce((sum, b) => sum + b.requests, 0n);
    expect(series.reduce((sum, s) => sum + requests(s), 0n)).toBe(26n);
    expect(requests(other)).toBe(6n);
    expect(other.buckets[0]!.errors).toBe(6n);
  });

  it("takes max_series up to 100, and refuses a negative one", async () => {
    const five = (await byModel(5)).series;
    expect(five.map((s) => s.foldedGroups)).toEqual([0, 0, 0, 0, 0, 21]);
    expect((await byModel(1_000_000)).series).toHaveLength(26);
    const bad = await failure(byModel(-1));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toBe("max_series: must be 0 (for 20) or more");
  });

  it("GetLiveStats tells the key that asked what it may do", async () => {
    const rights = async (key?: string) => (await admin(key).getLiveStats({})).callerRights;
    const full = await admin().createKey({ key: { displayName: "full admin", admin: true } });
    const viewer = await admin().createKey({ key: { displayName: "viewer", admin: true, adminReadOnly: true } });
    expect(await rights()).toBe(AdminRights.MASTER);
    expect(await rights(full.secret)).toBe(AdminRights.ADMIN);
    expect(await rights(viewer.secret)).toBe(AdminRights.READ_ONLY);
  });

  it("WatchCalls with confirm_start sends a message without a call at once, then the calls", async () => {
    const stop = new AbortController();
    const seen: WatchCallsResponse[] = [];
    const watching = (async () => {
      for await (const res of admin().watchCalls({ confirmStart: true }, { signal: stop.signal })) seen.push(res);
    })().catch(() => {});
    // No call is made until the confirmation came: it does not wait for one.
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]!.call).toBeUndefined();
    await gw.client("connect").listModels({});
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    expect(seen[1]!.call?.method).toBe("switchboard.v1.AIService/ListModels");
    stop.abort();
    await watching;
  });
});
