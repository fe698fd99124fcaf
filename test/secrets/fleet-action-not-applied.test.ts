// An operator's key rotation that reaches an instance which cannot apply it (the staged
// variable is set on one pod only) answers success where it was asked, as it should, but the
// other instance says so: a warning naming the reference, a counter, and `key_pools` degraded
// in its /healthz (naming the credential, never the reference) until the fleet agrees again. A
// later DisableKey still applies there, and says when it leaves that instance keyless.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { FLEET_ACTION_NOT_APPLIED, KEYLESS_AFTER_FLEET_DISABLE } from "../../src/secrets/provider-pools.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { adminClient, calls, credentials } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const OLD = "sk-fleet-unapplied-old-0123456789";
const THIRD = "sk-fleet-unapplied-third-9876543210";
const name = (id: string) => `providers/openai/credentials/${id}`;

interface Health {
  status: string;
  dependencies: Record<string, string>;
  providers: Record<string, { status: string; reason?: string }>;
}

describe("a key-pool action another instance cannot apply", () => {
  let fake: OpenAIFake;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: [THIRD] });
    const env = { REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"), REDIS_PREFIX: redisPrefix(), SWITCHBOARD_PEPPER: "one pepper for the whole fleet", OLD_OPENAI_KEY: OLD };
    const file = { providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "env:OLD_OPENAI_KEY", weight: 1 }] } }, key_pool: { promote_after: 1000 } };
    // The new key's variable reached A only; B holds the same secret under another name (staged on B at the end).
    a = await startGateway({ ...env, OPENAI_THIRD_KEY: THIRD }, file);
    b = await startGateway({ ...env, OPENAI_THIRD_KEY_COPY: THIRD }, file);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await fake?.close();
  });

  const state = async (gateway: TestGateway, id: string) => (await credentials(adminClient(gateway), "openai")).byName.get(name(id))?.state;
  const health = async (gateway: TestGateway) => (await (await fetch(`${gateway.url}/healthz`)).json()) as Health;
  const notApplied = async (gateway: TestGateway, action: string) => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`switchboard_fleet_actions_not_applied_total{provider="openai",action="${action}"}`));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  const warnings = (gateway: TestGateway) => gateway.logs.entries.filter((e) => e.msg === FLEET_ACTION_NOT_APPLIED);

  it("a stage B cannot read succeeds on A, and B logs it with the reference, counts it and shows it in health without the reference", async () => {
    const staged = await adminClient(a).stageKey({ parent: "providers/openai", credentialId: "third", secretRef: "env:OPENAI_THIRD_KEY", replaces: name("primary"), trafficShare: 0.1 });
    expect(staged.credential?.state).toBe(CredentialState.STANDBY);
    await eventually(() => expect(warnings(b)).toMatchObject([{ level: "warn", action: "stage", provider: "openai", credential: "third", source: "env:OPENAI_THIRD_KEY" }]));
    expect(warnings(b)[0]!.reason).toContain("OPENAI_THIRD_KEY");
    expect(await notApplied(b, "stage")).toBe(1);
    const seen = await health(b);
    expect(seen.status).toBe("degraded");
    expect(seen.dependencies.key_pools).toContain('openai: "third" (stage)');
    expect(seen.dependencies.key_pools).not.toContain("OPENAI_THIRD_KEY");
    // A applied its own action: nothing diverges there.
    expect((await health(a)).dependencies.key_pools).toBeUndefined();
    expect(await notApplied(a, "stage")).toBe(0);
  });

  it("the promotion that follows does not apply on B either, and adds to what B names", async () => {
    await adminClient(a).promoteKey({ name: name("third") });
    await eventually(async () => expect((await health(b)).dependencies.key_pools).toContain('openai: "third" (stage, promote)'));
    expect(await notApplied(b, "promote")).toBe(1);
    expect(await state(b, "primary")).toBe(CredentialState.ACTIVE);
  });

  it("disabling the old key applies on B all the same, and B says it has no usable key left", async () => {
    await adminClient(a).disableKey({ name: name("primary"), reason: "leaked" });
    await eventually(async () => expect(await state(b, "primary")).toBe(CredentialState.DISABLED));
    await eventually(() =>
      expect(b.logs.entries.filter((e) => e.msg === KEYLESS_AFTER_FLEET_DISABLE)).toMatchObject([
        { level: "error", action: "disable", provider: "openai", credential: "primary", notApplied: ['"third" (stage, promote)'] },
      ]),
    );
    const seen = await health(b);
    expect(seen.providers.openai).toMatchObject({ status: "degraded", reason: expect.stringContaining("no usable key") });
    expect(seen.dependencies.key_pools).toContain('"third"');
    expect((await calls(a, 3)).failed).toEqual([]);
  });

  it("once the key is staged on B, B agrees with the fleet again, and A, which has it, finds nothing to change", async () => {
    await adminClient(b).stageKey({ parent: "providers/openai", credentialId: "third", secretRef: "env:OPENAI_THIRD_KEY_COPY", trafficShare: 1 });
    expect((await health(b)).dependencies.key_pools).toBe("ok");
    expect((await calls(b, 3)).failed).toEqual([]);
    await eventually(() => expect(a.logs.entries.filter((e) => e.msg === "another instance's key-pool action finds this instance as it asks already")).toHaveLength(1));
    expect(warnings(a)).toEqual([]);
    expect((await health(a)).dependencies.key_pools).toBeUndefined();
  });

  it("never names a secret", () => {
    for (const gateway of [a, b]) expect(gateway.logs.text).not.toMatch(new RegExp(`${OLD}|${THIRD}`));
  });
});
