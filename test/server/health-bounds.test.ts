import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { MAX_HEALTH_WATCHES } from "../../src/server/health-service.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

// grpc.health.v1.Health needs no key: what anyone may send it must not grow
// the gateway's memory or answers (5,000 watches took it past 600 MB; a 7 MB
// service name made a 23 MB answer and broke gRPC's trailers).

describe("the health service, asked by anyone", () => {
  let gw: TestGateway;
  const health = (protocol: "grpc" | "connect") => createClient(Health, gw.transport(protocol, null));

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it(`holds at most ${MAX_HEALTH_WATCHES} watches open; past that, ResourceExhausted until one ends`, async () => {
    const stop = new AbortController();
    // Each watch reads its first answer and stays open (reading on) until the test ends it.
    const firsts = Array.from(
      { length: MAX_HEALTH_WATCHES },
      () =>
        new Promise<Status>((first) => {
          (async () => {
            for await (const res of health("grpc").watch({ service: "" }, { signal: stop.signal })) first(res.status);
          })().catch(() => {});
        }),
    );
    expect(new Set(await Promise.all(firsts))).toEqual(new Set([Status.SERVING]));
    const refused = await failure(
      (async () => {
        for await (const _ of health("grpc").watch({ service: "" })) void _;
      })(),
    );
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(refused)).toBe("TOO_MANY_WATCHERS");
    stop.abort();
    // Once they end, watching works again.
    await expect
      .poll(async () => {
        for await (const res of health("grpc").watch({ service: "" })) return res.status;
      })
      .toBe(Status.SERVING);
  });

  it.each(["grpc", "connect"] as const)("quotes a huge unknown service name only in part (%s)", async (protocol) => {
    const err = await failure(health(protocol).check({ service: "A".repeat(1_000_000) }));
    expect(err.code).toBe(Code.NotFound);
    expect(reasonOf(err)).toBe("SERVICE_NOT_FOUND");
    expect(err.rawMessage.length).toBeLessThan(300);
  });
});
