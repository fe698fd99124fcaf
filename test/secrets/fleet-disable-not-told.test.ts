// DisableKey on a fleet whose Redis fails it: the instance asked disables the
// key and keeps it in the store, but answers Unavailable FLEET_NOT_TOLD when
// Redis did not take the news, and the others disable the key on their own,
// from the store: on their poll, or when their Redis subscription comes back
// (an instance out of reach of Redis when the news went out). Two gateways on
// one Postgres, one Redis, each reaching Redis through a forwarder the test cuts;
// and one gateway whose Postgres goes away while Redis stays.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { ConfigFile } from "../../src/config/schema.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { createPostgresDatabase, POSTGRES_PEPPER, redisPrefix } from "../support/stores.js";
import { addressOf, throughProxy, tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { adminClient, calls, credentials, requestsByKey } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const LEAKED = `sk-fleet-leaked-${randomBytes(12).toString("hex")}`;
const SPARE = `sk-fleet-spare-${randomBytes(12).toString("hex")}`;
const PRIMARY = "providers/openai/credentials/primary";

/**
 * Two instances on one fresh Postgres and one Redis, each through a forwarder of its own, each polling
 * the store every `refreshMs`; B starts with its forwarder closed when `bOffline`.
 */
async function fleet(fake: OpenAIFake, refreshMs: { a: number; b: number }, bOffline = false) {
  const pg = await createPostgresDatabase();
  const redis = addressOf(requireService("SWITCHBOARD_TEST_REDIS_URL"));
  const proxies = { a: await tcpProxy(redis), b: await tcpProxy(redis) };
  await proxies.a.open();
  if (!bOffline) await proxies.b.open();
  const prefix = redisPrefix();
  const start = (proxy: TcpProxy, everyMs: number) => {
    const env = { DATABASE_URL: pg.url, SWITCHBOARD_PEPPER: "one pepper for the whole fleet", REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_PREFIX: prefix, OLD_OPENAI_KEY: LEAKED, SPARE_OPENAI_KEY: SPARE };
    const file: ConfigFile = {
      providers: {
        openai: {
          base_url: fake.baseUrl,
          keys: [
            { id: "primary", secret: "env:OLD_OPENAI_KEY", weight: 1 },
            { id: "spare", secret: "env:SPARE_OPENAI_KEY", weight: 1 },
          ],
        },
      },
      key_pool: { disabled_keys_refresh_ms: everyMs },
    };
    return startGateway(env, file);
  };
  const a = await start(proxies.a, refreshMs.a);
  const b = await start(proxies.b, refreshMs.b);
  return {
    a,
    b,
    proxies,
    async stop() {
      await a.stop();
      await b.stop();
      await proxies.a.close();
      await proxies.b.close();
      await pg.drop();
    },
  };
}

const state = async (gw: TestGateway) => (await credentials(adminClient(gw), "openai")).byName.get(PRIMARY)?.state;
const redisHealth = async (gw: TestGateway) => ((await (await fetch(`${gw.url}/healthz`)).json()) as { dependencies: Record<string, string> }).dependencies.redis;
const noSecretIn = (...texts: string[]) => {
  for (const secret of [LEAKED, SPARE, MASTER_KEY]) expect(texts.join("\n")).not.toContain(secret);
};

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: LEAKED, extraKeys: [SPARE] });
});
afterAll(() => fake?.close());

describe("a DisableKey whose news Redis did not take", () => {
  let f: Awaited<ReturnType<typeof fleet>>;
  beforeAll(async () => {
    f = await fleet(fake, { a: 300, b: 300 });
  });
  afterAll(() => f?.stop());

  it("answers Unavailable FLEET_NOT_TOLD, saying the key is disabled here and stored; the other instance disables it from the store", async () => {
    expect(await state(f.b)).toBe(CredentialState.ACTIVE);
    await f.proxies.a.cut();
    await eventually(async () => expect(await redisHealth(f.a)).not.toBe("ok"), 10_000);

    const err = await failure(adminClient(f.a).disableKey({ name: PRIMARY, reason: "leaked" }));
    expect(err.code).toBe(Code.Unavailable);
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info).toMatchObject({ reason: "FLEET_NOT_TOLD", domain: "switchboard.dev", metadata: { credential: PRIMARY, stored: "true", told: "false", refresh_ms: "300" } });
    expect(info?.metadata.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(err.rawMessage).toBe(
      `${PRIMARY} is disabled on this instance and kept in the store, but Redis did not take the news to the other instances: each disables it on its next read of the store (every 0.3 s) or when its Redis subscription comes back; call DisableKey again to tell them now`,
    );
    expect(await state(f.a)).toBe(CredentialState.DISABLED);

    // The other instance heard nothing over Redis: its poll of the store disables the key.
    await eventually(async () => expect(await state(f.b)).toBe(CredentialState.DISABLED), 10_000);
    const reason = (await credentials(adminClient(f.b), "openai")).byName.get(PRIMARY)?.stateReason;
    expect(reason).toBe('disabled by "master": leaked');
    expect(f.b.logs.entries.some((e) => e.msg === "this key's secret was disabled (DisableKey, or deleted at its source) as another key, on another instance or before a restart: it is disabled here too" && e.credential === "openai/primary")).toBe(true);
    const from = fake.requests.length;
    expect((await calls(f.b, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([SPARE]);
    noSecretIn(err.message, f.a.logs.text, f.b.logs.text);
  });

  it("answers OK to the same DisableKey once Redis takes it again", async () => {
    await f.proxies.a.open();
    await eventually(async () => expect(await redisHealth(f.a)).toBe("ok"), 10_000);
    const again = await adminClient(f.a).disableKey({ name: PRIMARY, reason: "leaked" });
    expect(again.credential?.state).toBe(CredentialState.DISABLED);
  });
});

describe("an instance out of reach of Redis when a DisableKey went out", () => {
  let f: Awaited<ReturnType<typeof fleet>>;
  beforeAll(async () => {
    // Neither instance polls within the test: only the subscription, once made, can tell B.
    f = await fleet(fake, { a: 3_600_000, b: 3_600_000 }, true);
  });
  afterAll(() => f?.stop());

  it("disables the key when its subscription comes back", async () => {
    // B has not reached Redis since it started (so it has not subscribed either): Redis takes the news, B misses it.
    expect((await adminClient(f.a).disableKey({ name: PRIMARY, reason: "leaked" })).credential?.state).toBe(CredentialState.DISABLED);
    expect(await state(f.b)).toBe(CredentialState.ACTIVE);

    await f.proxies.b.open();
    await eventually(async () => expect(await state(f.b)).toBe(CredentialState.DISABLED), 10_000);
    const from = fake.requests.length;
    expect((await calls(f.b, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([SPARE]);
    noSecretIn(f.a.logs.text, f.b.logs.text);
  });
});

describe("a DisableKey the store did not keep", () => {
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let gw: TestGateway;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    proxy = await tcpProxy(addressOf(database.url));
    await proxy.open();
    gw = await startGateway(
      {
        DATABASE_URL: throughProxy(database.url, proxy),
        SWITCHBOARD_PEPPER: POSTGRES_PEPPER,
        REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"),
        REDIS_PREFIX: redisPrefix(),
        OLD_OPENAI_KEY: LEAKED,
        SPARE_OPENAI_KEY: SPARE,
      },
      {
        providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "env:OLD_OPENAI_KEY", weight: 1 }, { id: "spare", secret: "env:SPARE_OPENAI_KEY", weight: 1 }] } },
        key_pool: { disabled_keys_refresh_ms: 300 },
      },
    );
  });
  afterAll(async () => {
    await proxy?.open();
    await gw?.stop();
    await proxy?.close();
    await database?.drop();
  });

  it("answers FLEET_NOT_TOLD with stored false, and keeps it once the store is back", async () => {
    await proxy.cut();
    const err = await failure(adminClient(gw).disableKey({ name: PRIMARY, reason: "leaked" }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "FLEET_NOT_TOLD", metadata: { credential: PRIMARY, stored: "false", told: "true" } });
    expect(err.rawMessage).toBe(
      `${PRIMARY} is disabled on this instance and the other instances were told, but the store did not keep it: a restart, or an instance that missed the news, may use the key again; call DisableKey again once the store answers`,
    );
    expect(await state(gw)).toBe(CredentialState.DISABLED);
    expect(gw.logs.entries.some((e) => e.msg.startsWith("could not keep a disabled key in the store") && e.credential === "openai/primary")).toBe(true);

    // Back: the instance writes what the store did not take, on its next read of it.
    await proxy.open();
    const db = new PostgresDatabase(database.url);
    try {
      await eventually(async () => expect(await db.query("SELECT name FROM gateway_settings WHERE substr(name, 1, 16) = 'disabled_secret:'")).toHaveLength(1), 10_000);
    } finally {
      await db.close();
    }
    noSecretIn(err.message, gw.logs.text);
  });
});
