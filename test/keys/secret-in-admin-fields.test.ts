// An admin who pastes a secret where a name goes (a key's team, display name,
// id or model globs; a vendor credential's id, reference or reason; a stored
// secret's id) is refused with SECRET_IN_FIELD before anything is kept: the
// master key written as a team used to become a /metrics label, a ledger
// column and a log field. The answer names the field, never what it held;
// ordinary names ("payments", "sk", "team-skiing") are taken as before.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

// Neither shaped like a key: only knowing them finds them.
const MASTER = "correct-horse-battery-staple-0451";
const VENDOR = "vendorkey-7f3a9c1e2b4d6f8a0c2e";
const VENDOR_NEXT = "vendorkey-next-5b7d9f1a3c5e7a9b";
const GATEWAY_KEY = generateGatewayKey();
/** Well-known credentials, none of which the gateway holds. */
const SHAPED = {
  anthropic: `sk-ant-api03-${"Zy9-q".repeat(18)}`,
  vault: `hvs.CAESIJ${"k3Xq9Lw2Tz8Rv5Nm".repeat(6)}`,
  vaultLegacy: "s.Qf1s5zigZ4NsxNQ2dAvp8nMr",
  aws: "AKIAIOSFODNN7EXAMPLE",
};
const SECRETS = [MASTER, VENDOR, GATEWAY_KEY, ...Object.values(SHAPED)];

let fake: OpenAIFake;
let gw: TestGateway;
const admin = () => createClient(AdminService, gw.transport("connect", MASTER));

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: VENDOR, extraKeys: [VENDOR_NEXT] });
  gw = await startGateway({ SWITCHBOARD_MASTER_KEY: MASTER, OPENAI_API_KEY: VENDOR, OPENAI_API_KEY_NEXT: VENDOR_NEXT, OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

/** Everything a refusal says, as text: its message, ErrorInfo and BadRequest details. */
function said(err: ConnectError): string {
  return JSON.stringify([err.rawMessage, err.findDetails(ErrorInfoSchema), err.findDetails(BadRequestSchema)]);
}

/** The call is refused with SECRET_IN_FIELD naming `field` (first of `fields`), and nothing it says holds a secret. */
async function expectRefused(call: Promise<unknown>, ...fields: string[]): Promise<void> {
  const err = await failure(call);
  expect(err.code).toBe(Code.InvalidArgument);
  const info = err.findDetails(ErrorInfoSchema)[0];
  expect(info?.reason).toBe("SECRET_IN_FIELD");
  expect(info?.metadata).toEqual({ field: fields[0] });
  expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(fields);
  expect(err.rawMessage).toContain(`${fields[0]}: holds what looks like a secret`);
  for (const secret of SECRETS) expect(said(err)).not.toContain(secret);
}

describe("CreateKey and UpdateKey", () => {
  it("refuse a key id, team, display name or model that holds the master key, a vendor key or a gateway key", async () => {
    const before = (await admin().listKeys({})).keys.length;
    // A valid key id, and a team no pattern would find: the master key itself.
    await expectRefused(admin().createKey({ keyId: MASTER, key: { displayName: "checkout" } }), "key_id");
    await expectRefused(admin().createKey({ key: { displayName: "checkout", team: MASTER } }), "key.team");
    await expectRefused(admin().createKey({ key: { displayName: `the key ${MASTER} of ops`, team: "payments" } }), "key.display_name");
    // A vendor key the pools hold, whole (a piece of one is a name like any other: partial-secret-oracle.test.ts); a gateway key by its shape.
    await expectRefused(admin().createKey({ key: { displayName: "checkout", team: VENDOR } }), "key.team");
    await expectRefused(admin().createKey({ key: { displayName: GATEWAY_KEY } }), "key.display_name");
    await expectRefused(
      admin().createKey({ key: { displayName: "checkout", allowedModels: ["gpt-4o-mini", `openai/${GATEWAY_KEY}`], economyModels: [{ model: "gpt-4o", economyModel: VENDOR }] } }),
      "key.allowed_models[1]",
      "key.economy_models[0].economy_model",
    );
    expect((await admin().listKeys({})).keys).toHaveLength(before);
  });

  it("refuse well-known vendor, Vault and AWS credentials long enough to be one", async () => {
    for (const secret of Object.values(SHAPED)) await expectRefused(admin().createKey({ key: { displayName: "checkout", team: secret } }), "key.team");
  });

  it("UpdateKey refuses them too, and the key stays as it was", async () => {
    await admin().createKey({ keyId: "updated", key: { displayName: "updated", team: "payments" } });
    await expectRefused(admin().updateKey({ key: { name: "keys/updated", team: MASTER }, updateMask: create(FieldMaskSchema, { paths: ["team"] }) }), "key.team");
    await expectRefused(admin().updateKey({ key: { name: "keys/updated", displayName: SHAPED.aws } }), "key.display_name");
    await expectRefused(admin().updateKey({ key: { name: "keys/updated", allowedModels: [SHAPED.vault] } }), "key.allowed_models[0]");
    expect((await admin().getKey({ name: "keys/updated" })).key).toMatchObject({ displayName: "updated", team: "payments", allowedModels: [] });
  });

  it("take ordinary names, however close to a key's prefix", async () => {
    const created = await admin().createKey({
      keyId: "sk-team",
      key: { displayName: "sk", team: "team-skiing", allowedModels: ["gpt-4o-mini*", "openai/*"], economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }] },
    });
    expect(created.key).toMatchObject({ name: "keys/sk-team", displayName: "sk", team: "team-skiing" });
    for (const [field, value] of [
      ["team", "payments"],
      ["displayName", "Risk desk (s.k. prod)"],
      ["team", "hvs-platform"],
      ["team", "AKIA"],
      ["team", "correct"],
    ] as const) {
      const updated = await admin().updateKey({ key: { name: "keys/sk-team", [field]: value } });
      expect(updated.key?.[field]).toBe(value);
    }
  });
});

describe("vendor credentials and stored secrets", () => {
  it("StageKey refuses a credential id or reference holding a secret; a reference is taken as before", async () => {
    await expectRefused(admin().stageKey({ parent: "providers/openai", credentialId: GATEWAY_KEY, secretRef: "env:OPENAI_API_KEY_NEXT" }), "credential_id");
    // The secret pasted into its reference, which ListProviders and the log lines show.
    await expectRefused(admin().stageKey({ parent: "providers/openai", credentialId: "next", secretRef: `vault:secret/openai#${VENDOR}` }), "secret_ref");
    await expectRefused(admin().stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", secondaryRef: SHAPED.anthropic }), "secondary_ref");
    const staged = await admin().stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT" });
    expect(staged.credential?.name).toBe("providers/openai/credentials/next");
  });

  it("RollbackKey and DisableKey refuse a reason holding a secret, and keep an ordinary one", async () => {
    await expectRefused(admin().rollbackKey({ name: "providers/openai/credentials/next", reason: `leaked as ${MASTER}` }), "reason");
    await expectRefused(admin().disableKey({ name: "providers/openai/credentials/next", reason: SHAPED.vaultLegacy }), "reason");
    const rolled = await admin().rollbackKey({ name: "providers/openai/credentials/next", reason: "canary errors" });
    expect(rolled.credential?.stateReason).toContain("canary errors");
  });

  it("CreateStoredSecret refuses a secret id holding a secret", async () => {
    await expectRefused(admin().createStoredSecret({ secretId: SHAPED.aws, value: VENDOR_NEXT }), "secret_id");
  });
});

describe("what the gateway keeps", () => {
  it("holds no secret: not /metrics, not the ledger, not the log lines", async () => {
    await admin().createKey({ keyId: "ordinary", key: { displayName: "ordinary", team: "payments" } });
    // Every key there is calls once, so each key id and team that was kept is a label and a ledger row.
    for (const key of (await admin().listKeys({})).keys) {
      const { secret } = await admin().createKey({ key: { displayName: `caller of ${key.name}`, team: key.team } });
      await gw.client("connect", secret).chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    }
    await gw.client("connect", MASTER).chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`team="payments"`);
    const report = await admin().getUsageReport({ groupBy: [UsageDimension.KEY, UsageDimension.TEAM] });
    const ledger = JSON.stringify(report.rows.map((row) => [row.key, row.team]));
    expect(ledger).toContain("payments");
    for (const secret of SECRETS) {
      expect(metrics).not.toContain(secret);
      expect(ledger).not.toContain(secret);
      expect(gw.logs.text).not.toContain(secret);
    }
  });
});
