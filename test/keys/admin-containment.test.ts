import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { GatewayKeyState } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

/** Admin keys are contained: only the master key makes admins or widens their rights, and no admin key changes itself. */
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

  const expectMasterRequired = async (call: Promise<unknown>, action: string) => {
    const err = await failure(call);
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain("only the master key may");
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("MASTER_KEY_REQUIRED");
    expect(info?.metadata).toMatchObject({ key: "ops", action });
  };

  it("lets only the master key create an admin key, read-only or not", async () => {
    await expectMasterRequired(as(ops).createKey({ keyId: "evil-admin", key: { displayName: "evil", admin: true } }), "create_admin_key");
    await expectMasterRequired(as(ops).createKey({ keyId: "evil-reader", key: { displayName: "evil", admin: true, adminReadOnly: true } }), "create_admin_key");
    expect((await failure(master().getKey({ name: "keys/evil-admin" }))).code).toBe(Code.NotFound);
    // Ordinary keys stay an admin key's to make, and the master's admin keys are made as before.
    expect((await as(ops).createKey({ key: { displayName: "plain" } })).key?.admin).toBe(false);
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
    await master().createKey({ keyId: "worker", key: { displayName: "worker" } });
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

  it("still lets an admin key revoke itself", async () => {
    const { secret } = await master().createKey({ keyId: "leaving", key: { displayName: "leaving", admin: true } });
    expect((await as(secret).revokeKey({ name: "keys/leaving" })).key?.state).toBe(GatewayKeyState.REVOKED);
  });
});
