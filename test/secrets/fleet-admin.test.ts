// Key-pool admin calls act on the whole fleet: two gateways sharing a real
// Redis, an operator talking to whichever one the load balancer picked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { adminClient, calls, credentials, requestsByKey } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const OLD = "sk-fleet-old-0123456789";
const NEW = "sk-fleet-new-9876543210";
const name = (id: string) => `providers/openai/credentials/${id}`;

describe("key-pool admin calls across instances", () => {
  let fake: OpenAIFake;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: [NEW] });
    // Both instances hold OPENAI_NEW_KEY: a staged key travels as its reference, never as the secret.
    // And one pepper, as a fleet does: the actions are sealed under it (src/redis/fleet-seal.ts).
    const env = { REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"), REDIS_PREFIX: redisPrefix(), SWITCHBOARD_PEPPER: "one pepper for the whole fleet", OPENAI_NEW_KEY: NEW };
    const file = { providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "env:OLD_OPENAI_KEY", weight: 1 }] } }, key_pool: { promote_after: 1000 } };
    a = await startGateway({ ...env, OLD_OPENAI_KEY: OLD }, file);
    b = await startGateway({ ...env, OLD_OPENAI_KEY: OLD }, file);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await fake?.close();
  });

  const state = async (gateway: TestGateway, id: string) => (await credentials(adminClient(gateway), "openai")).byName.get(name(id))?.state;
  // The other instance hears of an action over Redis at once; the waits allow for a loaded CI machine, they promise no speed.

  it("a key staged on one instance is a canary on the other, told over Redis", async () => {
    await adminClient(a).stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_NEW_KEY", replaces: name("primary"), trafficShare: 0.5 });
    expect(await state(a, "next")).toBe(CredentialState.STANDBY);
    await eventually(async () => expect(await state(b, "next")).toBe(CredentialState.STANDBY), 10_000);
    // B sends the canary its share, with the key it read itself.
    const from = fake.requests.length;
    expect((await calls(b, 20)).failed).toEqual([]);
    expect(requestsByKey(fake, from).get(NEW)).toBeGreaterThan(0);
  });

  it("a promotion on the other instance reaches the first: all traffic on the new key everywhere", async () => {
    await adminClient(b).promoteKey({ name: name("next") });
    await eventually(async () => expect(await state(a, "next")).toBe(CredentialState.ACTIVE), 10_000);
    expect(await state(a, "primary")).toBe(CredentialState.DRAINING);
    const from = fake.requests.length;
    expect((await calls(a, 10)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([NEW]);
    const applied = a.logs.entries.find((e) => e.msg === "applied another instance's key-pool action" && e.action === "promote");
    expect(applied).toBeDefined();
  });

  it("a disabled key is disabled everywhere", async () => {
    await adminClient(a).disableKey({ name: name("primary"), reason: "leaked" });
    await eventually(async () => expect(await state(b, "primary")).toBe(CredentialState.DISABLED), 10_000);
  });

  it("an action refused where it was asked tells nobody", async () => {
    const before = a.logs.entries.length;
    const refused = await adminClient(b).promoteKey({ name: name("next") }).catch((err: Error) => err);
    expect(refused).toBeInstanceOf(Error); // already active: not a staged canary
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.logs.entries.slice(before).filter((e) => e.action)).toEqual([]);
  });

  it("never carries a secret: only references cross Redis", () => {
    for (const gateway of [a, b]) expect(gateway.logs.text).not.toMatch(new RegExp(`${OLD}|${NEW}`));
  });
});
