// Every refused request wrote one `warn` "call failed" line, with no key needed: an anonymous
// scanner sending `POST /v1/<junk>` or a wrong key from one connection wrote 50,000 lines (15 MB)
// in 16 s, filling an operator's log disk or bill at no cost (hostile-use audit, issue 10).
// Refusals no gateway key authenticated now keep their line only for the first
// KEYLESS_CALL_LINES_PER_MINUTE a minute per reason, then one line a minute per reason says how
// many were left out; metrics still count every one, and an authenticated caller's lines are all kept.
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { KEYLESS_CALL_LINES_PER_MINUTE, KeylessCallLines, keylessCallLines } from "../../src/api/envelope/keyless-call-lines.js";
import { createLogger } from "../../src/observability/logger.js";
import { LogCapture, MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const LEFT_OUT = "call lines of calls no gateway key authenticated were left out";
const leftOutLines = (logs: LogCapture) => logs.entries.filter((line) => line.msg?.startsWith(LEFT_OUT));

/**
 * A gateway whose keyless call lines are budgeted on the test's clock (moved on
 * by `world.clock += ms`), started before the tests of the describe block that
 * calls this and stopped after them.
 */
function gatewayOnTestClock(): { gw: TestGateway; clock: number } {
  const world = { clock: 0 } as { gw: TestGateway; clock: number };
  beforeAll(async () => {
    world.gw = await startGateway({});
    // The gateway's budget, on the test's clock, before its first call.
    keylessCallLines(world.gw.app.logger, () => world.clock);
  });
  afterAll(async () => {
    await world.gw?.stop();
  });
  return world;
}

/** How many calls of a surface's method the gateway's metrics count as answered with `code`. */
async function requestsCounted(gw: TestGateway, { surface, method, code }: { surface: string; method: string; code: string }): Promise<number> {
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(new RegExp(`switchboard_requests_total\\{surface="${surface}",method="${method}",code="${code}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
}

describe("keyless call lines", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits the first lines of each reason a minute, then counts the rest in one line when the minute is over", () => {
    const logs = new LogCapture();
    let clock = 0;
    const lines = new KeylessCallLines(createLogger("info", logs), () => clock);
    const admitted = (reason: string, n: number) =>
      Array.from({ length: n }, (_, i) => lines.admits(reason, { requestId: `r${i}`, surface: "rest", method: "REST unknown", status: "not_found", error: "no such endpoint: POST /v1/junk" })).filter(Boolean).length;

    expect(admitted("ENDPOINT_NOT_FOUND", 500)).toBe(KEYLESS_CALL_LINES_PER_MINUTE);
    // Another reason has a budget of its own.
    expect(admitted("UNAUTHENTICATED", 3)).toBe(3);
    clock += 59_999;
    expect(admitted("ENDPOINT_NOT_FOUND", 1)).toBe(0);
    expect(leftOutLines(logs)).toEqual([]);

    clock += 1;
    expect(admitted("ENDPOINT_NOT_FOUND", 1)).toBe(1);
    expect(leftOutLines(logs)).toEqual([
      expect.objectContaining({
        level: "warn",
        reason: "ENDPOINT_NOT_FOUND",
        leftOut: 491,
        sample: { requestId: "r10", surface: "rest", method: "REST unknown", status: "not_found", error: "no such endpoint: POST /v1/junk" },
      }),
    ]);
    // A reason that left nothing out writes no count.
    expect(admitted("UNAUTHENTICATED", 1)).toBe(1);
    expect(leftOutLines(logs)).toHaveLength(1);
  });

  it("writes the count when the minute is over even if no refusal follows", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const logs = new LogCapture();
    const lines = new KeylessCallLines(createLogger("info", logs), () => Date.now());
    for (let i = 0; i < KEYLESS_CALL_LINES_PER_MINUTE + 7; i++) lines.admits("UNAUTHENTICATED", { requestId: `r${i}` });
    vi.advanceTimersByTime(59_999);
    expect(leftOutLines(logs)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(leftOutLines(logs)).toEqual([expect.objectContaining({ reason: "UNAUTHENTICATED", leftOut: 7 })]);
    // The next minute starts afresh: its lines are admitted, and nothing is counted twice.
    expect(lines.admits("UNAUTHENTICATED", {})).toBe(true);
    vi.advanceTimersByTime(120_000);
    expect(leftOutLines(logs)).toHaveLength(1);
  });
});

describe("a flood of refusals no key authenticated", () => {
  const world = gatewayOnTestClock();

  /** `n` requests, a few at a time; resolves to their statuses. */
  async function send(n: number, path: string, headers: Record<string, string>, body: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let sent = 0; sent < n; sent += 50) {
      const batch = Array.from({ length: Math.min(50, n - sent) }, () => fetch(`${world.gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }));
      for (const res of await Promise.all(batch)) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    return statuses;
  }

  const callLines = () => world.gw.logs.entries.filter((line) => line.msg === "call failed");
  const counted = (code: string) => requestsCounted(world.gw, { surface: "rest", method: "REST unknown", code });

  it("writes a bounded number of lines, then one line a minute per reason counting the rest; metrics count every one", async () => {
    expect(new Set(await send(500, "/v1/junk", {}, "{}"))).toEqual(new Set([404]));
    const chat = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(new Set(await send(500, "/v1/chat/completions", { authorization: "Bearer sk-sb-not-a-real-key" }, chat))).toEqual(new Set([401]));
    // A content type the RPC does not take, refused before its key is checked.
    expect(new Set(await send(500, "/switchboard.v1.AIService/Chat", { "content-type": "text/plain" }, chat))).toEqual(new Set([415]));

    const lines = callLines();
    expect(lines.filter((line) => line.method === "REST unknown")).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE);
    expect(lines.filter((line) => line.method === "REST POST /v1/chat/completions")).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE);
    expect(lines.filter((line) => line.method === "switchboard.v1.AIService/Chat")).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE);
    expect(lines).toHaveLength(3 * KEYLESS_CALL_LINES_PER_MINUTE);
    expect(leftOutLines(world.gw.logs)).toEqual([]);
    expect(await counted("not_found")).toBe(500);

    // A minute on, the next refusal of each reason writes how many of its lines were left out, and its own line.
    world.clock += 60_000;
    await send(1, "/v1/junk", {}, "{}");
    await send(1, "/v1/chat/completions", {}, chat);
    await send(1, "/switchboard.v1.AIService/Chat", { "content-type": "text/plain" }, chat);
    const leftOut = leftOutLines(world.gw.logs);
    expect(leftOut).toEqual([
      expect.objectContaining({ level: "warn", reason: "ENDPOINT_NOT_FOUND", leftOut: 490, sample: expect.objectContaining({ method: "REST unknown", error: expect.stringContaining("/v1/junk") }) }),
      expect.objectContaining({ level: "warn", reason: "UNAUTHENTICATED", leftOut: 490, sample: expect.objectContaining({ method: "REST POST /v1/chat/completions", status: "unauthenticated" }) }),
      expect.objectContaining({ level: "warn", reason: "UNSUPPORTED_CONTENT_TYPE", leftOut: 490, sample: expect.objectContaining({ method: "switchboard.v1.AIService/Chat" }) }),
    ]);
    expect(callLines()).toHaveLength(3 * KEYLESS_CALL_LINES_PER_MINUTE + 3);
    expect(world.gw.logs.text).not.toContain("sk-sb-not-a-real-key");
  });

  it("keeps every line of an authenticated caller's failed calls", async () => {
    const before = callLines().filter((line) => line.keyId === "master").length;
    const chat = JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] });
    expect(new Set(await send(500, "/v1/chat/completions", { authorization: `Bearer ${MASTER_KEY}` }, chat))).toEqual(new Set([404]));
    const theirs = callLines().filter((line) => line.keyId === "master");
    expect(theirs.length - before).toBe(500);
    expect(theirs.at(-1)).toMatchObject({ level: "warn", status: "not_found" });
  });
});

describe("a flood of calls served without a key", () => {
  const world = gatewayOnTestClock();

  const CHECK = "grpc.health.v1.Health/Check";
  const checkLines = () => world.gw.logs.entries.filter((line) => line.msg === "call" && line.method === CHECK);
  const checks = async (n: number) => {
    const health = createClient(Health, world.gw.transport("grpc", null));
    for (let sent = 0; sent < n; sent += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - sent) }, () => health.check({ service: "" })));
      expect(new Set(batch.map((res) => res.status))).toEqual(new Set([Status.SERVING]));
    }
  };
  const counted = () => requestsCounted(world.gw, { surface: "grpc", method: CHECK, code: "ok" });

  it("writes a bounded number of health check lines, apart from refusals' budget, then one count line a minute; metrics count every one", async () => {
    await checks(200);
    expect(checkLines()).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE);
    expect(await counted()).toBe(200);
    // The checks used up their own lines, not those of keyless refusals.
    for (let i = 0; i < 3; i++) expect((await fetch(`${world.gw.url}/v1/junk`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(404);
    expect(world.gw.logs.entries.filter((line) => line.msg === "call failed" && line.method === "REST unknown")).toHaveLength(3);
    expect(leftOutLines(world.gw.logs)).toEqual([]);

    world.clock += 60_000;
    await checks(1);
    expect(leftOutLines(world.gw.logs)).toEqual([
      expect.objectContaining({ level: "info", reason: CHECK, leftOut: 190, sample: expect.objectContaining({ surface: "grpc", method: CHECK, status: "ok" }) }),
    ]);
    expect(checkLines()).toHaveLength(KEYLESS_CALL_LINES_PER_MINUTE + 1);
    expect(await counted()).toBe(201);
  });
});
