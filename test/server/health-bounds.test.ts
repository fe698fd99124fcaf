import * as http2 from "node:http2";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { DEFAULT_CLIENT_LIMITS } from "../../src/server/client-limits.js";
import { MAX_HEALTH_WATCHES } from "../../src/server/health-service.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

// grpc.health.v1.Health needs no key: what anyone may send it must not grow
// the gateway's memory or answers (5,000 watches took it past 600 MB; a 7 MB
// service name made a 23 MB answer and broke gRPC's trailers), nor let one
// address take every watch (observability audit, finding 1).

/** The address that watches more than its share; the gateway's test clients call from 127.0.0.1. */
const GREEDY = "127.0.0.2";

describe("the health service, asked by anyone", () => {
  let gw: TestGateway;
  const health = (protocol: "grpc" | "connect") => createClient(Health, gw.transport(protocol, null));
  // http2.connect passes localAddress on to net.connect, though its option type does not list it.
  const healthFrom = (address: string) => createClient(Health, createGrpcTransport({ baseUrl: gw.url, nodeOptions: { localAddress: address } as http2.ClientSessionOptions }));
  /** A keyless Watch from `address` that reads its first answer and stays open (reading on) until `signal` ends it. */
  const firstOfHeldWatch = (address: string, signal: AbortSignal) =>
    new Promise<Status>((first) => {
      (async () => {
        for await (const res of healthFrom(address).watch({ service: "" }, { signal })) first(res.status);
      })().catch(() => {});
    });
  /** A keyless Watch from `address`: its first answer, then it ends. */
  const watchOnce = async (address: string) => {
    for await (const res of healthFrom(address).watch({ service: "" })) return res.status;
  };

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it(`holds at most ${MAX_HEALTH_WATCHES} watches open over every address; past that, ResourceExhausted until one ends`, async () => {
    const stop = new AbortController();
    // Ten addresses, each watching its share (10): the instance's 100.
    const firsts = Array.from({ length: MAX_HEALTH_WATCHES }, (_, i) => firstOfHeldWatch(`127.0.0.${10 + (i % 10)}`, stop.signal));
    expect(new Set(await Promise.all(firsts))).toEqual(new Set([Status.SERVING]));
    const refused = await failure(watchOnce("127.0.0.1"));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toMatch(/open on this instance/);
    stop.abort();
    // Once they end, watching works again.
    await expect.poll(() => watchOnce("127.0.0.1")).toBe(Status.SERVING);
  });

  it("holds one address, with no key, to its share of the watches, while other addresses watch", async () => {
    const stop = new AbortController();
    const firsts = Array.from({ length: DEFAULT_CLIENT_LIMITS.maxHealthWatchesPerClient }, () => firstOfHeldWatch(GREEDY, stop.signal));
    expect(new Set(await Promise.all(firsts))).toEqual(new Set([Status.SERVING]));
    const refused = await failure(watchOnce(GREEDY));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    expect(refused.rawMessage).toMatch(/this client address holds/);
    expect(await watchOnce("127.0.0.1")).toBe(Status.SERVING);
    stop.abort();
    await expect.poll(() => watchOnce(GREEDY)).toBe(Status.SERVING);
  });

  it("answers a Watch on an unknown service SERVICE_UNKNOWN and keeps it open (health.proto), counted among the address's watches", async () => {
    // An address of its own, so that no watch of the tests before is still counted.
    const address = "127.0.0.3";
    const stop = new AbortController();
    const answers: Status[] = [];
    let ended = false;
    const watching = (async () => {
      for await (const res of healthFrom(address).watch({ service: "no-such-service" }, { signal: stop.signal })) answers.push(res.status);
      ended = true;
    })().catch(() => {});
    await expect.poll(() => answers).toEqual([Status.SERVICE_UNKNOWN]);
    // Still open, and holding one of the address's share: the share less one more may watch, then no more.
    const stopRest = new AbortController();
    const rest = Array.from({ length: DEFAULT_CLIENT_LIMITS.maxHealthWatchesPerClient - 1 }, () => firstOfHeldWatch(address, stopRest.signal));
    await Promise.all(rest);
    expect(ended).toBe(false);
    expect(reasonOf(await failure(watchOnce(address)))).toBe("TOO_MANY_WATCHERS");
    stop.abort();
    stopRest.abort();
    await watching;
    await expect.poll(() => watchOnce(address)).toBe(Status.SERVING);
  });

  it.each(["grpc", "connect"] as const)("quotes a huge unknown service name only in part (%s)", async (protocol) => {
    const err = await failure(health(protocol).check({ service: "A".repeat(1_000_000) }));
    expect(err.code).toBe(Code.NotFound);
    expect(reasonOf(err)).toBe("SERVICE_NOT_FOUND");
    expect(err.rawMessage.length).toBeLessThan(300);
  });
});
