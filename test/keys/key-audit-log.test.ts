// Who created, changed or revoked which key, and which settings, can be read
// back from the log (never a key itself): "admin-a revoked ro-admin" must be
// reconstructible.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

describe("the key methods' audit lines", () => {
  let gw: TestGateway;
  const admin = (key?: string) => createClient(AdminService, gw.transport("connect", key));

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(() => gw.stop());

  const auditLines = () => gw.logs.entries.filter((entry) => entry.component === "admin" && /a key$/.test(entry.msg));

  it("logs one info line per CreateKey, UpdateKey and RevokeKey with actor, key, action and the settings named", async () => {
    const ops = await admin().createKey({ keyId: "audit-ops", key: { displayName: "ops", admin: true } });
    const made = await admin(ops.secret).createKey({ keyId: "audit-target", key: { displayName: "target", team: "search", requestsPerMinute: 10 } });
    await admin(ops.secret).updateKey({
      key: { name: "keys/audit-target", team: "payments", allowedModels: ["gpt-4o-mini"] },
      updateMask: create(FieldMaskSchema, { paths: ["team", "allowed_models", "team"] }),
    });
    // A refused change is no change: it leaves no audit line.
    await failure(admin(ops.secret).updateKey({ key: { name: "keys/audit-ops", displayName: "me" }, updateMask: create(FieldMaskSchema, { paths: ["display_name"] }) }));
    await admin(ops.secret).revokeKey({ name: "keys/audit-target" });

    expect(auditLines().map(({ level, actor, key, action, paths, msg }) => ({ level, actor, key, action, paths, msg }))).toEqual([
      { level: "info", actor: "master", key: "audit-ops", action: "create", paths: ["display_name", "admin"], msg: "admin created a key" },
      { level: "info", actor: "audit-ops", key: "audit-target", action: "create", paths: ["display_name", "team", "requests_per_minute"], msg: "admin created a key" },
      { level: "info", actor: "audit-ops", key: "audit-target", action: "update", paths: ["team", "allowed_models"], msg: "admin updated a key" },
      { level: "info", actor: "audit-ops", key: "audit-target", action: "revoke", paths: undefined, msg: "admin revoked a key" },
    ]);
    for (const secret of [MASTER_KEY, ops.secret, made.secret]) expect(gw.logs.text).not.toContain(secret);
  });
});
