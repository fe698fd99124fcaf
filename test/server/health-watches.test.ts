// grpc.health.v1.Health/Watch needs no key, and its 100 places were the instance's alone: one
// client took all 100 and held them for as long as it liked, and every other client's Watch was
// refused, which gRPC clients with client-side health checking (grpc-go's healthCheckConfig) read
// as the instance being unhealthy (observability audit, finding 1). A client address (an IPv6
// client: its /64) now holds at most its share, and a watch ends with OK at its maximum age (its
// client watches again). The service is driven here directly, its clock by the test.
import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { HealthState } from "../../src/common/health-state.js";
import type { StartTimer } from "../../src/gateway/timers.js";
import { remoteAddressKey } from "../../src/server/client-key.js";
import { DEFAULT_CLIENT_LIMITS } from "../../src/server/client-limits.js";
import { createHealthService } from "../../src/server/health-service.js";
import { failure } from "../support/failure.js";

/** Timers the test fires itself. */
function manualTimers() {
  const armed: { ms: number; fire: () => void; stopped: boolean }[] = [];
  const startTimer: StartTimer = (ms, fire) => {
    const timer = { ms, fire, stopped: false };
    armed.push(timer);
    return { stop: () => void (timer.stopped = true), restart: () => {} };
  };
  return { armed, startTimer };
}

/** One Watch from `address`: its first answer read, then held open until `end` or the service ends it. */
async function watchFrom(service: ReturnType<typeof createHealthService>, address: string) {
  const values = createContextValues();
  values.set(remoteAddressKey, address);
  const ctx = createHandlerContext({ service: Health, method: Health.method.watch, protocolName: "grpc", requestMethod: "POST", url: "http://localhost/", contextValues: values });
  const answers = (service.watch as unknown as (req: { service: string }, context: typeof ctx) => AsyncIterable<{ status: Status }>)({ service: "" }, ctx)[Symbol.asyncIterator]();
  const first = await answers.next();
  return { first, next: () => answers.next(), end: () => ctx.abort() };
}

describe("health watches per client address", () => {
  it("holds a client address (an IPv6 one: its /64) to its share, while other addresses watch; a place frees when a watch ends", async () => {
    const service = createHealthService(new HealthState([]), { ...DEFAULT_CLIENT_LIMITS, maxHealthWatchesPerClient: 3 }, { startTimer: manualTimers().startTimer });
    // Three source addresses of one /64: one client.
    const held = [await watchFrom(service, "2001:db8:1:2::1"), await watchFrom(service, "2001:db8:1:2::2"), await watchFrom(service, "2001:db8:1:2:a:b:c:d")];
    for (const watch of held) expect(watch.first.value?.status).toBe(Status.SERVING);

    const refused = await failure(watchFrom(service, "2001:db8:1:2::99"));
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toMatch(/this client address holds 3 health watches/);
    // The next /64, and an IPv4 client, are other clients.
    expect((await watchFrom(service, "2001:db8:1:3::1")).first.value?.status).toBe(Status.SERVING);
    expect((await watchFrom(service, "203.0.113.7")).first.value?.status).toBe(Status.SERVING);

    held[0]!.end();
    expect((await held[0]!.next()).done).toBe(true);
    expect((await watchFrom(service, "2001:db8:1:2::99")).first.value?.status).toBe(Status.SERVING);
  });

  it("keeps the instance's cap over every address", async () => {
    const service = createHealthService(new HealthState([]), DEFAULT_CLIENT_LIMITS, { maxWatches: 2, startTimer: manualTimers().startTimer });
    await watchFrom(service, "203.0.113.1");
    await watchFrom(service, "203.0.113.2");
    const refused = await failure(watchFrom(service, "203.0.113.3"));
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toMatch(/2 health watches are open on this instance/);
  });
});

describe("a health watch's maximum age", () => {
  it("ends the watch with OK at its age, less up to a tenth, and frees its place", async () => {
    const timers = manualTimers();
    const maxAge = 600_000;
    const service = createHealthService(new HealthState([]), { maxHealthWatchesPerClient: 1, healthWatchMaxAgeMs: maxAge }, { startTimer: timers.startTimer });
    const watch = await watchFrom(service, "203.0.113.7");
    expect(watch.first.value?.status).toBe(Status.SERVING);
    expect(reasonOf(await failure(watchFrom(service, "203.0.113.7")))).toBe("TOO_MANY_WATCHERS");

    const [timer] = timers.armed;
    expect(timer!.ms).toBeGreaterThanOrEqual(maxAge * 0.9);
    expect(timer!.ms).toBeLessThanOrEqual(maxAge);
    const ended = watch.next();
    timer!.fire();
    // The stream completes (the client reads status OK), rather than failing.
    expect(await ended).toEqual({ done: true, value: undefined });
    expect(timer!.stopped).toBe(true);
    expect((await watchFrom(service, "203.0.113.7")).first.value?.status).toBe(Status.SERVING);
  });

  it("stops the watch's timer when its client goes away first", async () => {
    const timers = manualTimers();
    const service = createHealthService(new HealthState([]), DEFAULT_CLIENT_LIMITS, { startTimer: timers.startTimer });
    const watch = await watchFrom(service, "203.0.113.7");
    const ended = watch.next();
    watch.end();
    expect((await ended).done).toBe(true);
    expect(timers.armed.map((timer) => timer.stopped)).toEqual([true]);
  });
});
