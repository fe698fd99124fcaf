// One verdict per canary across the fleet. A and B share a Redis and a Postgres store; C shares
// only the store, so it hears nothing over Redis, as an instance that missed the news. A canary A
// promotes on its own calls is promoted on B too; a rollback that comes after the promotion (an
// operator's RollbackKey on B or C, or C's canary failing on its own calls) is refused: the key stays
// promoted everywhere, and the store keeps the promotion's record for the next start.
import { Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { KEY_PROMOTED_BY_FLEET } from "../../src/secrets/promoted-by-fleet.js";
import { PROMOTION_TAKEN } from "../../src/secrets/provider-pools.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix, storeEnv } from "../support/stores.js";
import { adminClient, calls, credentials, requestsByKey } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const OLD = "sk-fleet-verdict-old-0123456789";
const NEXT = "sk-fleet-verdict-next-9876543210";
const LATER = "sk-fleet-verdict-later-5555566666";
const name = (id: string) => `providers/openai/credentials/${id}`;

describe("canary verdicts across instances", () => {
  // The keys the fake accepts, changed by the test (a key the vendor refuses for a while).
  const accepted = [NEXT, LATER];
  let fake: OpenAIFake;
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let a: TestGateway;
  let b: TestGateway;
  let c: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: accepted });
    store = await storeEnv("postgres");
    const env = { ...store.env, OLD_OPENAI_KEY: OLD, OPENAI_NEXT_KEY: NEXT, OPENAI_LATER_KEY: LATER };
    const fleet = { REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"), REDIS_PREFIX: redisPrefix() };
    const file = { providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "env:OLD_OPENAI_KEY", weight: 1 }] } }, key_pool: { promote_after: 1000 } };
    a = await startGateway({ ...env, ...fleet }, file);
    b = await startGateway({ ...env, ...fleet }, file);
    c = await startGateway(env, file);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
    await store?.drop();
    await fake?.close();
  });

  const state = async (gateway: TestGateway, id: string) => (await credentials(adminClient(gateway), "openai")).byName.get(name(id));
  /** The rotation record the store keeps for a staged key, as JSON. */
  const record = async (id: string) => {
    const db = new pg.Client({ connectionString: store.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query("SELECT value FROM gateway_settings WHERE name = $1", [`key_rotation:openai:${id}`]);
      return rows[0] ? (JSON.parse(String(rows[0].value)) as { state: string; cause?: string }) : undefined;
    } finally {
      await db.end();
    }
  };
  const keysSeen = async (gateway: TestGateway, n: number) => {
    const from = fake.requests.length;
    expect((await calls(gateway, n)).failed).toEqual([]);
    return [...requestsByKey(fake, from).keys()];
  };
  /** Stages `id` on `gateway` as a canary on all of the traffic, promoted after 3 successful calls. */
  const stage = (gateway: TestGateway, id: string, ref: string, replaces: string) =>
    adminClient(gateway).stageKey({ parent: "providers/openai", credentialId: id, secretRef: ref, replaces: name(replaces), trafficShare: 1, promoteAfter: 3 });

  it("a canary promoted automatically on A is promoted on B, which had it on trial", async () => {
    await stage(a, "next", "env:OPENAI_NEXT_KEY", "primary");
    await eventually(async () => expect((await state(b, "next"))?.state).toBe(CredentialState.STANDBY));
    // C has no Redis: it is told nothing, and stages the key itself.
    await stage(c, "next", "env:OPENAI_NEXT_KEY", "primary");
    expect(await keysSeen(a, 3)).toEqual([NEXT]);
    expect((await state(a, "next"))?.stateReason).toContain("promoted automatically");
    await eventually(async () => expect((await state(b, "next"))?.state).toBe(CredentialState.ACTIVE));
    expect((await state(b, "next"))?.stateReason).toContain("on another instance");
    expect((await state(b, "primary"))?.state).toBe(CredentialState.DRAINING);
    expect(await keysSeen(b, 5)).toEqual([NEXT]);
    expect(await record("next")).toMatchObject({ state: "promoted", cause: "auto_promoted" });
  });

  it("RollbackKey on B after the promotion is refused, naming the promotion; nothing changes anywhere", async () => {
    const err = await failure(adminClient(b).rollbackKey({ name: name("next"), reason: "test" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("promoted automatically");
    expect(err.rawMessage).toContain("StageKey");
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: KEY_PROMOTED_BY_FLEET, metadata: { credential: name("next"), state: "promoted", cause: "auto_promoted" } });
    for (const gateway of [a, b]) expect((await state(gateway, "next"))?.state).toBe(CredentialState.ACTIVE);
    expect(await keysSeen(a, 3)).toEqual([NEXT]);
    expect(await record("next")).toMatchObject({ state: "promoted" });
  });

  it("RollbackKey on C, which never heard of the promotion, is refused too, and C takes the promotion", async () => {
    expect((await state(c, "next"))?.state).toBe(CredentialState.STANDBY);
    const err = await failure(adminClient(c).rollbackKey({ name: name("next"), reason: "test" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe(KEY_PROMOTED_BY_FLEET);
    expect((await state(c, "next"))?.state).toBe(CredentialState.ACTIVE);
    expect((await state(c, "primary"))?.state).toBe(CredentialState.DRAINING);
    expect(await keysSeen(c, 3)).toEqual([NEXT]);
    expect(await record("next")).toMatchObject({ state: "promoted" });
  });

  it("C's canary rolled back on its own calls after A promoted it leaves the record, and C takes the promotion", async () => {
    await stage(a, "later", "env:OPENAI_LATER_KEY", "next");
    await stage(c, "later", "env:OPENAI_LATER_KEY", "next");
    expect(await keysSeen(a, 3)).toEqual([LATER]);
    await eventually(async () => expect((await state(b, "later"))?.state).toBe(CredentialState.ACTIVE));
    // The vendor refuses the new key for a moment, on C's first call: C rolls its canary back.
    accepted.splice(accepted.indexOf(LATER), 1);
    expect((await calls(c, 1)).failed).toEqual([]);
    accepted.push(LATER);
    await eventually(() => expect(c.logs.entries.filter((e) => e.msg === PROMOTION_TAKEN && e.credential === "later")).toMatchObject([{ level: "warn", provider: "openai" }]));
    expect((await state(c, "later"))?.state).toBe(CredentialState.ACTIVE);
    expect(await keysSeen(c, 3)).toEqual([LATER]);
    expect(await record("later")).toMatchObject({ state: "promoted", cause: "auto_promoted" });
  });

  it("never names a secret", () => {
    for (const gateway of [a, b, c]) expect(gateway.logs.text).not.toMatch(new RegExp(`${OLD}|${NEXT}|${LATER}`));
  });
});
