import { Code } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { CallFeed, finishedCall, type FinishedCall } from "../../src/api/envelope/call-feed.js";
import { startCallLog } from "../../src/api/envelope/call-log.js";
import { openCallRecord } from "../../src/api/envelope/call-record.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { failure } from "../support/failure.js";
import { finishedCallOf } from "../support/finished-calls.js";
import { LogCapture } from "../support/gateway.js";

const call = finishedCallOf;

/** Takes `count` calls from a watch. */
async function take(watch: AsyncGenerator<FinishedCall>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await watch.next()).value!.requestId);
  return ids;
}

describe("the call feed", () => {
  it("gives each watcher the calls that match its filter, in order", async () => {
    const feed = new CallFeed();
    const stop = new AbortController();
    const all = feed.watch("k1", () => true, stop.signal);
    const failed = feed.watch("k2", (c) => c.status !== "ok", stop.signal);
    // A watch starts when first read (async generator): start both before publishing.
    const first = all.next();
    const firstFailed = failed.next();
    feed.publish(call("a"));
    feed.publish(call("b", { status: "unavailable" }));
    feed.publish(call("c"));
    expect((await first).value?.requestId).toBe("a");
    expect(await take(all, 2)).toEqual(["b", "c"]);
    expect((await firstFailed).value?.requestId).toBe("b");
    stop.abort();
    expect((await all.next()).done).toBe(true);
    expect(feed.watched).toBe(false);
  });

  it("cuts off a watcher that falls behind, with the reason, and forgets its backlog", async () => {
    const feed = new CallFeed({ queueSize: 2 });
    const slow = feed.watch("k1", () => true, new AbortController().signal);
    const first = slow.next();
    feed.publish(call("a"));
    expect((await first).value?.requestId).toBe("a");
    // It reads no more: "b" and "c" fill its queue, "d" finds it full.
    for (const id of ["b", "c", "d"]) feed.publish(call(id));
    const error = await failure(slow.next());
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(error)).toBe("WATCHER_TOO_SLOW");
    expect(feed.watched).toBe(false);
  });

  it("refuses watchers past its bound, and ends every watch when it closes", async () => {
    const feed = new CallFeed({ maxWatchers: 1 });
    const signal = new AbortController().signal;
    const one = feed.watch("k1", () => true, signal);
    const pending = one.next();
    await vi.waitFor(() => expect(feed.watched).toBe(true));
    const refused = await failure(feed.watch("k1", () => true, signal).next());
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    feed.close();
    expect((await pending).done).toBe(true);
    expect((await feed.watch("k1", () => true, signal).next()).done).toBe(true);
  });

  it("refuses one key more than its share of watchers, while another key may still watch", async () => {
    const feed = new CallFeed({ maxWatchers: 8, maxWatchersPerKey: 2 });
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) void feed.watch("greedy", () => true, signal).next();
    await vi.waitFor(() => expect(feed.watched).toBe(true));
    const refused = await failure(feed.watch("greedy", () => true, signal).next());
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toContain('key "greedy" already has 2 watchers');
    const other = feed.watch("operator", () => true, signal).next();
    feed.close();
    expect((await other).done).toBe(true);
  });

  it("costs a call nothing while no one watches: the log line is written, the feed is not asked for anything", () => {
    const feed = new CallFeed();
    const publish = vi.spyOn(feed, "publish");
    const logs = new LogCapture();
    const record = openCallRecord("switchboard.v1.AIService/Chat", "connect", new Headers(), (h, n) => h.get(n));
    startCallLog(createLogger("info", logs), new GatewayMetrics(), record, feed)();
    expect(publish).not.toHaveBeenCalled();
    expect(logs.entries).toHaveLength(1);
  });

  it("carries calls to the AI surfaces only, without their content", () => {
    const record = openCallRecord("switchboard.v1.AIService/Chat", "connect", new Headers(), (h, n) => h.get(n));
    record.principal = { keyId: "web", name: "web", admin: false, team: "t" };
    record.report = { requestedModel: "gpt-4o-mini", provider: "openai", model: "gpt-4o-mini", downgraded: false, inputTokens: 3, outputTokens: 4, costNanos: 120, content: { input: [], output: "secret words" } };
    const carried = finishedCall(record, undefined, "ok", 12.5, undefined)!;
    expect(carried).toMatchObject({ keyId: "web", team: "t", provider: "openai", promptTokens: 3, completionTokens: 4, costNanos: 120, status: "ok" });
    expect(JSON.stringify(carried)).not.toContain("secret words");
    for (const method of ["switchboard.v1.AdminService/ListKeys", "grpc.health.v1.Health/Check"]) {
      expect(finishedCall(openCallRecord(method, "connect", new Headers(), (h, n) => h.get(n)), undefined, "ok", 1, undefined)).toBeUndefined();
    }
    expect(finishedCall(openCallRecord("REST POST /v1/chat/completions", "rest", new Headers(), (h, n) => h.get(n)), undefined, "ok", 1, undefined)).toBeDefined();
  });
});
