// Vendor credentials serve every gateway key: only the master key may change
// them (an admin key could otherwise take a provider down for everyone), and
// a key an operator disabled can be brought back the documented way, by
// staging its secret again.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { createCredential } from "../../src/secrets/credential.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { testPool } from "./support/pool-fixtures.js";

describe("a disabled key's secret staged again", () => {
  it("is staged and promoted, replacing the disabled key", () => {
    const { pool, secrets } = testPool([{ id: "a" }, { id: "b" }]);
    pool.disable("openai/a", "leaked, as we thought");
    pool.stage({ credential: createCredential("openai/a-again", secrets.get("a")!), weight: 1, replaces: "openai/a" });
    pool.promote("openai/a-again");
    expect(pool.get("openai/a-again")?.state).toBe("active");
    expect(pool.get("openai/a")?.state).toBe("retired");
  });

  it("still counts as held for a watched source's new version, which must not bring back what an operator disabled", () => {
    const { pool, secrets } = testPool([{ id: "a" }, { id: "b" }]);
    pool.disable("openai/a");
    expect(pool.holding(createCredential("openai/a@v2", secrets.get("a")!))?.id).toBe("openai/a");
  });
});

describe("vendor credentials and stored secrets on the admin API", () => {
  let gw: TestGateway;
  const master = () => createClient(AdminService, gw.transport("connect"));
  let ops: ReturnType<typeof master>;

  beforeAll(async () => {
    gw = await startGateway({ OPENAI_API_KEY: "sk-up" });
    ops = createClient(AdminService, gw.transport("connect", (await master().createKey({ keyId: "ops", key: { displayName: "ops", admin: true } })).secret));
  });
  afterAll(() => gw?.stop());

  it("refuses every write by an admin key as MASTER_KEY_REQUIRED, and lets it read", async () => {
    const credential = "providers/openai/credentials/env";
    const writes = [
      ops.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT" }),
      ops.promoteKey({ name: credential }),
      ops.rollbackKey({ name: credential }),
      ops.disableKey({ name: credential, reason: "why not" }),
      ops.createStoredSecret({ secretId: "openai-prod", value: "sk-stored" }),
      ops.addStoredSecretVersion({ parent: "secrets/openai-prod", value: "sk-stored-2" }),
      ops.deleteStoredSecret({ name: "secrets/openai-prod" }),
      ops.rewrapStoredSecrets({}),
    ];
    for (const write of writes) {
      const err = await failure(write);
      expect(err.code, err.rawMessage).toBe(Code.PermissionDenied);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MASTER_KEY_REQUIRED", metadata: { key: "ops", action: "manage_vendor_keys" } });
    }
    const [provider] = (await ops.listProviders({})).providers;
    expect(provider?.credentials.map((c) => [c.name, c.state])).toEqual([[credential, CredentialState.ACTIVE]]);
  });

  it("lets the master key disable a key and bring it back by staging the same secret again", async () => {
    await master().disableKey({ name: "providers/openai/credentials/env", reason: "rotated by mistake" });
    const staged = await master().stageKey({
      parent: "providers/openai",
      credentialId: "env-again",
      secretRef: "env:OPENAI_API_KEY",
      replaces: "providers/openai/credentials/env",
    });
    expect(staged.credential?.name).toBe("providers/openai/credentials/env-again");
    expect((await master().promoteKey({ name: "providers/openai/credentials/env-again" })).credential?.state).toBe(CredentialState.ACTIVE);
    const [provider] = (await master().listProviders({})).providers;
    expect(provider?.credentials.map((c) => [c.name, c.state])).toEqual([
      ["providers/openai/credentials/env", CredentialState.RETIRED],
      ["providers/openai/credentials/env-again", CredentialState.ACTIVE],
    ]);
  });
});
