// Coalescing behind a leader whose streamed answer stalls: the calls waiting
// on it are let go once it shows no progress for `stall_ms` (its vendor
// stops, or its client stops reading), measured from its last event, never
// from when it started; a caller's deadline ends its wait with
// DeadlineExceeded, in the process and across instances. A gateway, the
// dispatcher, the vendors and the coalescer all run on one simulated clock
// that the test moves (sim-dispatch.ts): no real time passes.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { CacheKey } from "../../src/cache/cache-key.js";
import { CachePolicy } from "../../src/cache/cache-policy.js";
import { CacheSecret } from "../../src/cache/cache-secret.js";
import { Coalescer, type Joined } from "../../src/cache/coalescer.js";
import { MemoryCache } from "../../src/cache/memory-cache.js";
import type { RedisTier } from "../../src/cache/redis-tier.js";
import { TieredCache } from "../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE } from "../../src/config/cache-config.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { Router } from "../../src/gateway/router.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { failure } from "../support/failure.js";
import { answer, context, setup, SimClock, stream, type Setup } from "../gateway/sim-dispatch.js";

const STALL_MS = 5_000;
const logger = createLogger("silent");
// Deterministic, on a route whose answers every caller shares: keys "a" and "b" coalesce.
const params = create(ChatRequestSchema, { model: "m", messages: [{ role: Role.USER, content: "hi" }], temperature: 0 });

/** A gateway with the response cache in front of the simulated dispatcher, its coalescer on the same clock. */
function cachedGateway(s: Setup): Gateway {
  const now = () => s.clock.now;
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, stallMs: STALL_MS, now, timer: s.clock.timer });
  const cache = new TieredCache({
    policy: new CachePolicy([], { ...DEFAULT_CACHE.defaults, share: "route" }),
    secret: new CacheSecret(Buffer.from("a cache secret for the stall tests")),
    memory: new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now }),
    coalescer,
    metrics,
    logger,
    now,
  });
  return new Gateway({ router: new Router([{ model: "m", provider: "primary" }], new Set(["primary"])), dispatcher: s.dispatcher, providers: new Map(), logger, cache });
}

/** The leader: a stream whose client reads `reads` events (all of them when unset), each as soon as it comes. */
async function leadStream(s: Setup, gateway: Gateway, reads = Infinity) {
  const leader = await gateway.chatStream(params, context(s.clock, undefined, "a"));
  const deltas: string[] = [];
  const reading = (async () => {
    for await (const response of leader.responses) {
      if (response.event.case === "delta") deltas.push(response.event.value.content);
      if (deltas.length === reads) await new Promise(() => {}); // the client stops reading
    }
  })();
  // Its end is not this test's business (a stalled stream is cut by the dispatcher's silence bound).
  reading.catch(() => {});
  return { deltas, reading };
}

describe("coalescing behind a stream that stalls", () => {
  it("lets the waiting call go to its vendor once the leader's vendor stops sending, stall_ms after its last event", async () => {
    const s = setup();
    const gateway = cachedGateway(s);
    // Two events (at 100 and 1,100 ms), then nothing; the follower's own call answers in 300 ms.
    s.vendor.script("m", stream(100, [1_000, Infinity]), answer(300));
    const started = s.clock.now;
    const leader = await leadStream(s, gateway);
    const follower = await s.clock.run(gateway.chat(params, context(s.clock, undefined, "b")));
    expect(follower).toMatchObject({ cached: false, coalesced: false, message: { content: "primary:m" } });
    // Released at the last event + stall_ms (not the leader's start + stall_ms, nor wait_ms), then its own 300 ms call.
    expect(s.clock.now - started).toBe(1_100 + STALL_MS + 300);
    // The leader streams on: its caller is not cut for the others' sake.
    expect(leader.deltas).toEqual(["t0 ", "t1 "]);
    expect(s.vendor.sent).toEqual(["m", "m"]);
  });

  it("lets the waiting call go when the leader's client stops reading (the vendor is read only as fast)", async () => {
    const s = setup();
    const gateway = cachedGateway(s);
    s.vendor.script("m", stream(100, [10, 10, 0]), answer(300));
    const started = s.clock.now;
    const leader = await leadStream(s, gateway, 1);
    const follower = await s.clock.run(gateway.chat(params, context(s.clock, undefined, "b")));
    expect(follower).toMatchObject({ cached: false, coalesced: false });
    expect(s.clock.now - started).toBe(100 + STALL_MS + 300);
    expect(leader.deltas).toEqual(["t0 "]);
  });

  it("keeps the calls waiting while the leader's stream advances, however long it takes, and hands them its answer", async () => {
    const s = setup();
    const gateway = cachedGateway(s);
    // Events 4 s apart: each under stall_ms, 16 s in all.
    s.vendor.script("m", stream(100, [4_000, 4_000, 4_000, 4_000]));
    const leader = await leadStream(s, gateway);
    const follower = await s.clock.run(gateway.chat(params, context(s.clock, undefined, "b")));
    expect(follower).toMatchObject({ cached: true, coalesced: true, message: { content: "t0 t1 t2 t3 " } });
    await s.clock.run(leader.reading);
    expect(s.vendor.sent).toEqual(["m"]);
  });
});

describe("the coalescer's waits", () => {
  const key: CacheKey = { id: "same-question", partition: "route:primary:m", provider: "primary", model: "m" };
  const never = () => undefined;
  const leadOf = (joined: Joined) => (joined.kind === "lead" ? joined.lead : expect.unreachable("this call should lead"));

  it("ends a follower's wait at its deadline, when that comes first, with DeadlineExceeded", async () => {
    const clock = new SimClock();
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, stallMs: STALL_MS, now: () => clock.now, timer: clock.timer });
    leadOf(await coalescer.join(key, { signal: new AbortController().signal }, never)); // a leader that never answers
    const started = clock.now;
    // The caller's signal does not fire here: the coalescer itself ends the wait at the deadline.
    const error = await failure(clock.run(coalescer.join(key, { signal: new AbortController().signal, deadline: started + 2_000 }, never)));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(clock.now - started).toBe(2_000);
    // A deadline already past: no wait at all.
    expect((await failure(coalescer.join(key, { signal: new AbortController().signal, deadline: clock.now }, never))).code).toBe(Code.DeadlineExceeded);
  });

  it("ends a wait for another instance's answer at the caller's deadline too", async () => {
    const clock = new SimClock();
    const busy = { isUp: true, claim: async () => ({ kind: "busy" }), poll: async () => ({ locked: true }) } as unknown as RedisTier;
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, stallMs: STALL_MS, remote: busy, now: () => clock.now, timer: clock.timer });
    const started = clock.now;
    const error = await failure(clock.run(coalescer.join(key, { signal: new AbortController().signal, deadline: started + 300 }, never)));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(clock.now - started).toBe(300);
  });

  it("finds the entry kept in Redis in the same step as the lock, taking no lock and calling no vendor", async () => {
    const unlock = vi.fn(async () => {});
    // Another instance's leader wrote its entry before this call's claim: the read and the lock are one script, so the entry comes back and no lock is taken.
    const claim = vi.fn().mockResolvedValueOnce({ kind: "stored", entry: Buffer.from([7]) }).mockResolvedValueOnce({ kind: "taken", token: "next-token" });
    const remote = { isUp: true, claim, unlock } as unknown as RedisTier;
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, stallMs: STALL_MS, remote });
    expect(await coalescer.join(key, { signal: new AbortController().signal }, (sealed) => new Uint8Array(sealed))).toEqual({ kind: "stored", plain: new Uint8Array([7]) });
    expect(unlock).not.toHaveBeenCalled();
    // Nothing is left in flight here: the next identical call leads.
    expect(leadOf(await coalescer.join(key, { signal: new AbortController().signal }, () => undefined)).token).toBe("next-token");
  });

  it("frees a stalled leader's fleet lock, so other instances' waiting calls go their own way too, and new calls lead afresh", async () => {
    const clock = new SimClock();
    const unlock = vi.fn(async () => {});
    const remote = { isUp: true, claim: async () => ({ kind: "taken", token: "leader-token" }), poll: async () => ({ locked: true }), unlock } as unknown as RedisTier;
    const coalescer = new Coalescer({ waitMs: 30_000, remoteWaitMs: 5_000, stallMs: STALL_MS, remote, now: () => clock.now, timer: clock.timer });
    const lead = leadOf(await coalescer.join(key, { signal: new AbortController().signal }, never));
    lead.progress();
    const started = clock.now;
    expect(await clock.run(coalescer.join(key, { signal: new AbortController().signal }, never))).toEqual({ kind: "alone" });
    expect(clock.now - started).toBe(STALL_MS);
    expect(unlock).toHaveBeenCalledWith(key, "leader-token");
    const next = leadOf(await coalescer.join(key, { signal: new AbortController().signal }, never));
    const waiting = coalescer.join(key, { signal: new AbortController().signal }, never);
    // The stalled leader ending late ends nothing of the new flight.
    lead.finish(new Uint8Array([1]));
    next.finish(new Uint8Array([2]));
    expect(await waiting).toEqual({ kind: "answer", plain: new Uint8Array([2]) });
  });
});
