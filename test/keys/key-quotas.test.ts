// Audit admin2 F2: nothing bounded how many keys an admin key or a team could
// make, so a team's admin key made 3,000 of the largest keys (39 MB) in 14 s
// in the store every tenant shares. Live keys are now bounded per team, per
// admin key that made them and in all (keys.quotas), checked in the write's
// own transaction on SQLite and Postgres alike.
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { quotasForChange, quotasForNewKey } from "../../src/api/admin/key-quotas.js";
import { KeyPolicy } from "../../src/auth/key-policy.js";
import type { Principal } from "../../src/auth/principal.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storedKey } from "../support/key-records.js";
import { storeEnv, type StoreKind } from "../support/stores.js";

const QUOTAS = { per_team: 5, per_admin_key: 2, total: 9 };

function quotaRefusal(err: ConnectError) {
  expect(err.code, err.rawMessage).toBe(Code.ResourceExhausted);
  const info = err.findDetails(ErrorInfoSchema)[0];
  expect(info?.reason).toBe("KEY_QUOTA_EXCEEDED");
  // The message says how to raise the bound that was reached.
  expect(err.rawMessage).toContain(`raise ${info?.metadata.quota} in the gateway's configuration`);
  return info?.metadata;
}

describe.each<StoreKind>(["sqlite", "postgres"])("live key quotas on %s", (kind) => {
  let gw: TestGateway;
  let drop: () => Promise<void>;
  const master = () => createClient(AdminService, gw.transport("connect"));
  const as = (secret: string) => createClient(AdminService, gw.transport("connect", secret));
  let alphaOne: ReturnType<typeof as>;
  let alphaTwo: ReturnType<typeof as>;

  beforeAll(async () => {
    const store = await storeEnv(kind);
    drop = store.drop;
    gw = await startGateway(store.env, { keys: { quotas: QUOTAS } });
    alphaOne = as((await master().createKey({ keyId: "alpha-one", key: { displayName: "alpha admin one", team: "alpha", admin: true } })).secret);
    alphaTwo = as((await master().createKey({ keyId: "alpha-two", key: { displayName: "alpha admin two", team: "alpha", admin: true } })).secret);
  });
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  it("holds each admin key to its own keys, and counts a revoked one for a day more (key-retirement.test.ts)", async () => {
    // Made at once: the count and the write are one step, so no two see room for the same place.
    const made = await Promise.allSettled([1, 2, 3, 4].map((i) => alphaOne.createKey({ keyId: `one-${i}`, key: { displayName: `one ${i}` } })));
    expect(made.filter((result) => result.status === "fulfilled")).toHaveLength(2);
    const refused = await failure(alphaOne.createKey({ keyId: "one-more", key: { displayName: "one more" } }));
    expect(quotaRefusal(refused)).toEqual({ key: "alpha-one", quota: "keys.quotas.per_admin_key", limit: "2", created_by: "alpha-one" });
    const madeIds = (await alphaOne.listKeys({ filter: 'team = "alpha"' })).keys.map((key) => key.name).filter((name) => name.startsWith("keys/one-"));
    await alphaOne.revokeKey({ name: madeIds[0]! });
    // Else a loop of creations and revocations would fill the store.
    expect(quotaRefusal(await failure(alphaOne.createKey({ keyId: "one-again", key: { displayName: "one again" } })))?.quota).toBe("keys.quotas.per_admin_key");
  });

  it("holds a team's keys together, whichever of its admin keys makes them, but not the master key", async () => {
    // alpha holds its two admin keys and alpha-one's two keys (one revoked, still counted): one place left.
    await alphaTwo.createKey({ keyId: "two-1", key: { displayName: "two 1" } });
    const refused = await failure(alphaTwo.createKey({ keyId: "two-2", key: { displayName: "two 2" } }));
    expect(quotaRefusal(refused)).toEqual({ key: "alpha-two", quota: "keys.quotas.per_team", limit: "5", team: "alpha" });
    await master().createKey({ keyId: "master-in-alpha", key: { displayName: "the operator's", team: "alpha" } });
  });

  it("holds every key, the master key's too, to the gateway's total", async () => {
    // 6 keys counted so far: the 2 admin keys, 2 of alpha-one's (one revoked), 1 of alpha-two's, the master key's in alpha.
    for (const keyId of ["m-1", "m-2", "m-3"]) await master().createKey({ keyId, key: { displayName: keyId } });
    const refused = await failure(master().createKey({ keyId: "m-4", key: { displayName: "m 4" } }));
    expect(quotaRefusal(refused)).toEqual({ key: "master", quota: "keys.quotas.total", limit: "9" });
  });
});

describe("the quotas a key change joins", () => {
  const quotas = { perTeam: 10, perAdminKey: 5, total: 100 };
  const admin: Principal = { keyId: "ops", name: "ops", admin: true, policy: new KeyPolicy(storedKey("ops", { admin: true, team: "" })) };
  const theMaster: Principal = { keyId: "master", name: "master", admin: true };
  const now = 10_000;

  it("counts a new key against its team, its maker and the total; the master key's against the total alone", () => {
    expect(quotasForNewKey(admin, { team: "alpha", createdBy: "ops" }, quotas)).toEqual([
      { of: "all", limit: 100 },
      { of: { team: "alpha" }, limit: 10 },
      { of: { createdBy: "ops" }, limit: 5 },
    ]);
    expect(quotasForNewKey(theMaster, { team: "alpha", createdBy: "master" }, quotas)).toEqual([{ of: "all", limit: 100 }]);
    // 0 is no bound.
    expect(quotasForNewKey(admin, { team: "", createdBy: "ops" }, { perTeam: 0, perAdminKey: 0, total: 0 })).toEqual([]);
  });

  it("counts an expired key given a later expiry as a new one, so an expiry is no way around the quotas", () => {
    const expired = storedKey("old", { team: "alpha", createdBy: "ops", expireMs: now - 1 });
    const revived = { ...expired, expireMs: now + 60_000 };
    expect(quotasForChange(admin, expired, revived, quotas, now)).toEqual(quotasForNewKey(admin, revived, quotas));
  });

  it("counts a live key moved to another team against that team only", () => {
    const live = storedKey("k", { team: "alpha", createdBy: "ops" });
    expect(quotasForChange(admin, live, { ...live, team: "beta" }, quotas, now)).toEqual([{ of: { team: "beta" }, limit: 10 }]);
    expect(quotasForChange(admin, live, { ...live, displayName: "renamed" }, quotas, now)).toEqual([]);
    expect(quotasForChange(theMaster, live, { ...live, team: "beta" }, quotas, now)).toEqual([]);
  });
});
