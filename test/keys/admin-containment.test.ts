import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BudgetExhaustedAction, BudgetPeriod, GatewayKeyState, type GatewayKeySchema } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
const DAY_MS = 86_400_000;
/** A GatewayKey as a request spells it (not a built message), so that two can be spread together. */
type KeyInit = Exclude<MessageInitShape<typeof GatewayKeySchema>, { $typeName: string }>;

/**
 * Admin keys are contained: only the master key makes admins, widens their
 * rights or changes another admin key's settings; no admin key changes itself,
 * and the ordinary keys one makes or changes sit within its own policy.
 */
describe("admin key containment", () => {
  let gw: TestGateway;
  const master = () => createClient(AdminService, gw.transport("connect"));
  const as = (secret: string) => createClient(AdminService, gw.transport("connect", secret));
  let ops: string;

  beforeAll(async () => {
    gw = await startGateway({});
    ops = (await master().createKey({ keyId: "ops", key: { displayName: "ops", admin: true, allowedModels: ["gpt-4o-mini"], budget: { limit: { units: 10n } } } })).secret;
  });
  afterAll(() => gw.stop());

  const expectMasterRequired = async (call: Promise<unknown>, action: string, key = "ops") => {
    const err = await failure(call);
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain("only the master key may");
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("MASTER_KEY_REQUIRED");
    expect(info?.metadata).toMatchObject({ key, action });
  };
  const expectOutsidePolicy = async (call: Promise<unknown>, key: string, field: string) => {
    const err = await failure(call);
    expect(err.code, `${field}: ${err.rawMessage}`).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0], err.rawMessage).toMatchObject({ reason: "OUTSIDE_OWN_POLICY", metadata: { key, field } });
  };

  it("lets only the master key create an admin key, read-only or not", async () => {
    await expectMasterRequired(as(ops).createKey({ keyId: "evil-admin", key: { displayName: "evil", admin: true } }), "create_admin_key");
    await expectMasterRequired(as(ops).createKey({ keyId: "evil-reader", key: { displayName: "evil", admin: true, adminReadOnly: true } }), "create_admin_key");
    expect((await failure(master().getKey({ name: "keys/evil-admin" }))).code).toBe(Code.NotFound);
    // Ordinary keys (within its own policy) stay an admin key's to make, and the master's admin keys are made as before.
    expect((await as(ops).createKey({ key: { displayName: "plain", allowedModels: ["gpt-4o-mini"], budget: { limit: { units: 10n } } } })).key?.admin).toBe(false);
    expect((await master().createKey({ key: { displayName: "second admin", admin: true } })).key?.admin).toBe(true);
  });

  it("refuses an admin key any change to its own key, but lets the master key make it", async () => {
    await expectMasterRequired(as(ops).updateKey({ key: { name: "keys/ops", allowedModels: [] }, updateMask: mask("allowed_models", "budget") }), "update_own_key");
    await expectMasterRequired(as(ops).updateKey({ key: { name: "keys/ops", displayName: "renamed" }, updateMask: mask("display_name") }), "update_own_key");
    const kept = (await master().getKey({ name: "keys/ops" })).key!;
    expect(kept.allowedModels).toEqual(["gpt-4o-mini"]);
    expect(kept.budget?.limit?.units).toBe(10n);
    expect((await master().updateKey({ key: { name: "keys/ops", displayName: "ops team" }, updateMask: mask("display_name") })).key?.displayName).toBe("ops team");
  });

  it("lets only the master key widen admin rights, while an admin key may still narrow them", async () => {
    await master().createKey({ keyId: "reader", key: { displayName: "reader", admin: true, adminReadOnly: true } });
    await master().createKey({ keyId: "worker", key: { displayName: "worker", allowedModels: ["gpt-4o-mini"], budget: { limit: { units: 5n } } } });
    await expectMasterRequired(as(ops).updateKey({ key: { name: "keys/reader", adminReadOnly: false }, updateMask: mask("admin_read_only") }), "widen_admin_rights");
    await expectMasterRequired(as(ops).updateKey({ key: { name: "keys/worker", admin: true }, updateMask: mask("admin") }), "widen_admin_rights");
    await expectMasterRequired(as(ops).updateKey({ key: { name: "keys/worker", admin: true, adminReadOnly: true }, updateMask: mask("admin", "admin_read_only") }), "widen_admin_rights");
    expect((await master().getKey({ name: "keys/reader" })).key?.adminReadOnly).toBe(true);
    expect((await master().getKey({ name: "keys/worker" })).key?.admin).toBe(false);

    // Narrowing and ordinary settings on other keys stay allowed.
    expect((await as(ops).updateKey({ key: { name: "keys/reader", admin: false }, updateMask: mask("admin") })).key?.admin).toBe(false);
    expect((await as(ops).updateKey({ key: { name: "keys/worker", team: "search" }, updateMask: mask("team") })).key?.team).toBe("search");
    expect((await master().updateKey({ key: { name: "keys/worker", admin: true }, updateMask: mask("admin") })).key?.admin).toBe(true);
  });

  it("lets an admin key make and change ordinary keys only within its own scope, rate limits, budget and expiry", async () => {
    const own = {
      displayName: "bounded",
      admin: true,
      allowedModels: ["gpt-4o-mini*", "openai/gpt-4o-mini"],
      // Its own admin calls take from it too: room for this test's.
      requestsPerMinute: 100,
      tokensPerMinute: 1000n,
      budget: { limit: { units: 1n }, period: BudgetPeriod.MONTH, whenExhausted: BudgetExhaustedAction.REFUSE },
      expiration: { case: "ttl" as const, value: durationFromMs(30 * DAY_MS) },
    };
    const bounded = as((await master().createKey({ keyId: "bounded", key: own })).secret);
    const within = {
      displayName: "within",
      allowedModels: ["gpt-4o-mini-2024-*", "openai/gpt-4o-mini"],
      requestsPerMinute: 5,
      tokensPerMinute: 500n,
      budget: { limit: { units: 0n, nanos: 500_000_000 }, period: BudgetPeriod.MONTH },
      expiration: { case: "ttl" as const, value: durationFromMs(DAY_MS) },
    };
    const beyond: [string, KeyInit][] = [
      ["allowed_models", { allowedModels: [] }],
      ["allowed_models", { allowedModels: ["gpt-4o"] }],
      ["allowed_models", { allowedModels: ["gpt-4o*"] }],
      ["allowed_models", { allowedModels: ["gpt-4o-mini*", "openai/*"] }],
      ["requests_per_minute", { requestsPerMinute: 0 }],
      ["requests_per_minute", { requestsPerMinute: 101 }],
      ["tokens_per_minute", { tokensPerMinute: 0n }],
      ["tokens_per_minute", { tokensPerMinute: 1001n }],
      ["budget", { budget: undefined }],
      ["budget", { budget: { limit: { units: 1n, nanos: 1 } } }],
      ["budget", { budget: { limit: { units: 1n }, period: BudgetPeriod.WEEK } }],
      ["budget", { budget: { limit: { units: 1n }, whenExhausted: BudgetExhaustedAction.ECONOMY_ONLY } }],
      ["expire_time", { expiration: { case: undefined } }],
      ["expire_time", { expiration: { case: "ttl", value: durationFromMs(31 * DAY_MS) } }],
    ];
    for (const [field, change] of beyond) {
      await expectOutsidePolicy(bounded.createKey({ keyId: "too-wide", key: { ...within, ...change } }), "bounded", field);
    }
    expect((await failure(master().getKey({ name: "keys/too-wide" }))).code).toBe(Code.NotFound);

    const made = (await bounded.createKey({ keyId: "within", key: within })).key!;
    expect(made).toMatchObject({ allowedModels: within.allowedModels, requestsPerMinute: 5, tokensPerMinute: 500n });
    // Changes keep the key within the bound too; a refused change writes nothing.
    expect((await bounded.updateKey({ key: { name: "keys/within", team: "search", requestsPerMinute: 2 }, updateMask: mask("team", "requests_per_minute") })).key?.team).toBe("search");
    await expectOutsidePolicy(bounded.updateKey({ key: { name: "keys/within", allowedModels: [] }, updateMask: mask("allowed_models") }), "bounded", "allowed_models");
    await expectOutsidePolicy(bounded.updateKey({ key: { name: "keys/within" }, updateMask: mask("budget") }), "bounded", "budget");
    expect((await master().getKey({ name: "keys/within" })).key).toMatchObject({ allowedModels: within.allowedModels, requestsPerMinute: 2 });
    // A key the master made beyond the bound stays beyond this admin key's reach.
    await master().createKey({ keyId: "unbounded", key: { displayName: "unbounded" } });
    await expectOutsidePolicy(bounded.updateKey({ key: { name: "keys/unbounded", team: "search" }, updateMask: mask("team") }), "bounded", "allowed_models");
  });

  it("refuses an admin key any change to another admin key's settings but narrowing its rights, so two cannot lift each other's limits", async () => {
    const limits = { allowedModels: ["gpt-4o-mini"], budget: { limit: { units: 1n } } };
    const p = (await master().createKey({ keyId: "admin-p", key: { displayName: "p", admin: true, ...limits } })).secret;
    const q = (await master().createKey({ keyId: "admin-q", key: { displayName: "q", admin: true, ...limits } })).secret;
    const refusedAction = "update_admin_key";
    await expectMasterRequired(as(q).updateKey({ key: { name: "keys/admin-p" }, updateMask: mask("budget", "allowed_models") }), refusedAction, "admin-q");
    await expectMasterRequired(as(p).updateKey({ key: { name: "keys/admin-q", displayName: "renamed" }, updateMask: mask("display_name") }), refusedAction, "admin-p");
    await expectMasterRequired(as(q).updateKey({ key: { name: "keys/admin-p", admin: false, allowedModels: [] }, updateMask: mask("admin", "allowed_models") }), refusedAction, "admin-q");
    expect((await master().getKey({ name: "keys/admin-p" })).key).toMatchObject({ allowedModels: ["gpt-4o-mini"], budget: { limit: { units: 1n } } });
    expect((await master().getKey({ name: "keys/admin-q" })).key?.displayName).toBe("q");
    // Narrowing rights and revoking stay open.
    expect((await as(q).updateKey({ key: { name: "keys/admin-p", admin: true, adminReadOnly: true }, updateMask: mask("admin_read_only") })).key?.adminReadOnly).toBe(true);
    expect((await as(q).revokeKey({ name: "keys/admin-p" })).key?.state).toBe(GatewayKeyState.REVOKED);
  });

  it("still lets an admin key revoke itself", async () => {
    const { secret } = await master().createKey({ keyId: "leaving", key: { displayName: "leaving", admin: true } });
    expect((await as(secret).revokeKey({ name: "keys/leaving" })).key?.state).toBe(GatewayKeyState.REVOKED);
  });
});
