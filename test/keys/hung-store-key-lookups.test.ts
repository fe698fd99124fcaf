// A Postgres that hangs (SIGSTOP, a network that drops packets) refuses nothing: a call whose key was not cached
// waited on the key lookup for ever (601 s, until nginx's 504; nginx then failed every instance), pooled connections
// stayed stuck, and /healthz said the store was ok. Now every key lookup has a deadline (store.query_timeout_ms) and
// answers Unavailable GATEWAY_KEYS_UNAVAILABLE past it; lookups of one digest share one query and only so many wait
// at once; pg drops a connection that does not answer; health names the store. The hang is a stalled TCP proxy in
// front of the test server (never a stopped shared Postgres).
import { Code } from "@connectrpc/connect";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import { KeyStore } from "../../src/auth/key-store.js";
import { StoredKeyDirectory } from "../../src/auth/stored-key-directory.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { HealthState } from "../../src/common/health-state.js";
import { createLogger } from "../../src/observability/logger.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { storeUnavailable } from "../../src/store/store-errors.js";
import { StoreHealth } from "../../src/store/store-health.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { keyDigest, storedKey } from "../support/key-records.js";
import { createPostgresDatabase, POSTGRES_PEPPER } from "../support/stores.js";
import { addressOf, tcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy.js";

/** Small, so that a test waits little on each deadline; the tests wait on outcomes, never on a duration. */
const TIMEOUT_MS = 300;

/** The real key store, counting the lookups that reach it. */
class CountingKeyStore extends KeyStore {
  lookups = 0;
  override findByDigest(digest: string): Promise<KeyRecord | undefined> {
    this.lookups++;
    return super.findByDigest(digest);
  }
}

/** The pg pool's own counts (its public API), to see that a connection stuck on a hung server leaves the pool. */
const poolOf = (db: PostgresDatabase) => (db as unknown as { pool: pg.Pool }).pool;

describe("the key directory and the Postgres pool against a store that hangs", () => {
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let db: PostgresDatabase;
  let store: CountingKeyStore;
  let health: HealthState;
  let dir: StoredKeyDirectory;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    proxy = await tcpProxy(addressOf(database.url));
    await proxy.open();
    db = new PostgresDatabase(throughProxy(database.url, proxy), { queryTimeoutMs: TIMEOUT_MS });
    await migrate(db);
    store = new CountingKeyStore(db);
    await store.insert(storedKey("known"));
    health = new HealthState([]);
    const storeHealth = new StoreHealth(health, db.dialect);
    // No poll of its own: the lookups alone tell the store's health here.
    dir = new StoredKeyDirectory(store, { logger: createLogger("silent"), pollMs: 3_600_000, readTimeoutMs: TIMEOUT_MS, maxPendingLookups: 2, onStoreState: storeHealth.reads });
    await dir.start();
  });
  afterEach(() => proxy.resume());
  afterAll(async () => {
    dir?.close();
    await proxy?.close();
    await db?.close();
    await database?.drop();
  });

  it("refuses a key it has not cached with Unavailable GATEWAY_KEYS_UNAVAILABLE once the lookup's time is up, and health says the store does not answer", async () => {
    expect(health.status("store")).toBe(Status.SERVING);
    proxy.stall();
    const refused = await failure(Promise.resolve(dir.lookup(keyDigest("never-seen"))));
    expect(refused.code).toBe(Code.Unavailable);
    expect(reasonOf(refused)).toBe("GATEWAY_KEYS_UNAVAILABLE");
    expect(refused.message).toContain(`the key store timed out: no answer within ${TIMEOUT_MS} ms`);
    expect(health.status("store")).toBe(Status.NOT_SERVING);
    expect(health.dependencies().get("store")?.detail).toMatch(/^postgres does not answer reads \(timed out\); calls with keys not in the gateway's cache are refused$/);

    proxy.resume();
    await expect.poll(async () => (await dir.lookup(keyDigest("known")))?.keyId).toBe("known");
    expect(health.status("store")).toBe(Status.SERVING);
  });

  it("asks the store once for a digest however many calls wait on it, and refuses at once past the bound on waiting lookups", async () => {
    proxy.stall();
    const before = store.lookups;
    const waiting = [dir.lookup(keyDigest("first")), dir.lookup(keyDigest("first")), dir.lookup(keyDigest("first")), dir.lookup(keyDigest("second"))].map((lookup) => failure(Promise.resolve(lookup)));
    // Two digests wait on the store (the bound here): a third is not sent to it.
    const turnedAway = await failure(Promise.resolve(dir.lookup(keyDigest("third"))));
    expect(store.lookups - before).toBe(2);
    expect(turnedAway.code).toBe(Code.Unavailable);
    expect(reasonOf(turnedAway)).toBe("GATEWAY_KEYS_UNAVAILABLE");
    expect(turnedAway.message).toMatch(/2 key lookups are already waiting on the store/);
    for (const refused of await Promise.all(waiting)) expect(reasonOf(refused)).toBe("GATEWAY_KEYS_UNAVAILABLE");
  });

  it("gives up on a transaction or a statement the server does not answer, and drops its connection from the pool", async () => {
    // One connection, idle in the pool when the server hangs: the transaction takes it.
    const single = new PostgresDatabase(throughProxy(database.url, proxy), { max: 1, queryTimeoutMs: TIMEOUT_MS });
    try {
      await single.query("SELECT 1");
      expect(poolOf(single).idleCount).toBe(1);
      proxy.stall();
      const transaction = await single.transaction((tx) => tx.query("SELECT 1")).catch((err: unknown) => err);
      expect(storeUnavailable(transaction)).toBe(true);
      // Not handed back to the next caller, stuck behind the statements it was sent.
      expect(poolOf(single).totalCount).toBe(0);
      const statement = await single.query("SELECT 1").catch((err: unknown) => err);
      expect(storeUnavailable(statement)).toBe(true);
      expect(poolOf(single).totalCount).toBe(0);
      proxy.resume();
      expect(await single.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await single.close();
    }
  });
});

describe("a gateway whose Postgres hangs", () => {
  let fake: OpenAIFake;
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let gw: TestGateway;
  const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
  const healthz = async () => (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    database = await createPostgresDatabase();
    proxy = await tcpProxy(addressOf(database.url));
    await proxy.open();
    gw = await startGateway(
      { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, DATABASE_URL: throughProxy(database.url, proxy), SWITCHBOARD_PEPPER: POSTGRES_PEPPER },
      { store: { query_timeout_ms: TIMEOUT_MS } },
    );
  });
  afterAll(async () => {
    proxy?.resume();
    await gw?.stop();
    await proxy?.close();
    await database?.drop();
    await fake?.close();
  });

  it("refuses calls with unknown keys at once rather than holding them, keeps serving the master key, and says degraded until the store answers", async () => {
    proxy.stall();
    const refused = await failure(gw.client("connect", generateGatewayKey()).chat(hi));
    expect(refused.code).toBe(Code.Unavailable);
    expect(reasonOf(refused)).toBe("GATEWAY_KEYS_UNAVAILABLE");
    expect(await healthz()).toMatchObject({ status: "degraded", dependencies: { store: expect.stringMatching(/^postgres does not answer reads/) } });
    expect((await gw.client("connect", MASTER_KEY).chat(hi)).model).toBe("gpt-4o-mini");

    proxy.resume();
    await expect.poll(healthz).toMatchObject({ status: "ok", dependencies: { store: "ok" } });
    const unknown = await failure(gw.client("connect", generateGatewayKey()).chat(hi));
    expect(unknown.code).toBe(Code.Unauthenticated);
  });
});
