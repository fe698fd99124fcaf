// Audit admin2 F2: admin keys had no rate unless given one, and a team's
// admin key made 3,000 keys in 14 s. An admin key without a
// requests_per_minute of its own is now held to a rate of AdminService writes
// (keys.admin_writes: 10 a second, 50 at once); reads and the master key are not.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { AdminWriteRate } from "../../src/api/admin/admin-write-rate.js";
import { DEFAULT_ADMIN_WRITES } from "../../src/config/usage-config.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("the admin write rate", () => {
  it("lets a burst through, then one write each 1/rate seconds", () => {
    let now = 1_000_000;
    const rate = new AdminWriteRate(DEFAULT_ADMIN_WRITES, () => now);
    for (let i = 0; i < 50; i++) expect(rate.take("ops")).toBeUndefined();
    expect(rate.take("ops")).toBe(100);
    // Another key has its own allowance.
    expect(rate.take("other")).toBeUndefined();
    now += 100;
    expect(rate.take("ops")).toBeUndefined();
    expect(rate.take("ops")).toBe(100);
  });

  it("holds no one when its rate is 0", () => {
    const rate = new AdminWriteRate({ perSecond: 0, burst: 1 }, () => 0);
    for (let i = 0; i < 100; i++) expect(rate.take("ops")).toBeUndefined();
  });
});

describe("AdminService writes of an admin key without a rate of its own", () => {
  let gw: TestGateway;
  const as = (secret?: string) => createClient(AdminService, gw.transport("connect", secret));
  let unlimited: ReturnType<typeof as>;
  let limited: ReturnType<typeof as>;

  beforeAll(async () => {
    // One write earned back every 1,000 s: the test cannot earn one back while it runs.
    gw = await startGateway({}, { keys: { admin_writes: { per_second: 0.001, burst: 3 } } });
    unlimited = as((await as().createKey({ keyId: "ops", key: { displayName: "ops", admin: true } })).secret);
    limited = as((await as().createKey({ keyId: "ops-rpm", key: { displayName: "ops with a rate", admin: true, requestsPerMinute: 600 } })).secret);
  });
  afterAll(() => gw.stop());

  it("refuses writes past the burst with RATE_LIMITED and RetryInfo, before anything is written", async () => {
    for (let i = 0; i < 3; i++) await unlimited.createKey({ keyId: `w-${i}`, key: { displayName: `w ${i}` } });
    const err = await failure(unlimited.createKey({ keyId: "w-3", key: { displayName: "w 3" } }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", metadata: { key: "ops", limit: "admin_writes", value: "0.001/s, burst 3" } });
    expect(err.findDetails(RetryInfoSchema)[0]?.retryDelay).toBeDefined();
    // Every write is held (a revocation too); reads are not.
    expect((await failure(unlimited.revokeKey({ name: "keys/w-0" }))).code).toBe(Code.ResourceExhausted);
    expect((await failure(as().getKey({ name: "keys/w-3" }))).code).toBe(Code.NotFound);
    for (let i = 0; i < 5; i++) await unlimited.listKeys({});
  });

  it("leaves the master key and a key with a requests_per_minute of its own alone", async () => {
    for (let i = 0; i < 5; i++) await as().createKey({ keyId: `m-${i}`, key: { displayName: `m ${i}` } });
    for (let i = 0; i < 5; i++) await limited.createKey({ keyId: `r-${i}`, key: { displayName: `r ${i}`, requestsPerMinute: 600 } });
  });
});
