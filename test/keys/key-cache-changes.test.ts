// A change to any key (or a Redis re-subscription) emptied every instance's whole key cache, so a database outage in
// the next minute refused every caller, warm keys included. Now the store's change log names the keys that changed and
// only those are evicted; the others keep being served through an outage. A revoked key still stops at once.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import { KeyStore } from "../../src/auth/key-store.js";
import { StoredKeyDirectory } from "../../src/auth/stored-key-directory.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { createLogger } from "../../src/observability/logger.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { keyDigest, storedKey } from "../support/key-records.js";
import { createPostgresDatabase, openMigratedDatabase, POSTGRES_PEPPER, type StoreKind } from "../support/stores.js";
import { addressOf, tcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy.js";

/** The real key store, whose key reads fail while `down` (the database unreachable). */
class FlakyKeyStore extends KeyStore {
  down = false;
  reads = 0;
  override async findByDigest(digest: string): Promise<KeyRecord | undefined> {
    this.reads++;
    if (this.down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
    return super.findByDigest(digest);
  }
}

describe.each<StoreKind>(["sqlite", "postgres"])("the key cache and the store's change log, on %s", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let store: FlakyKeyStore;
  let dir: StoredKeyDirectory;
  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    store = new FlakyKeyStore(db);
    for (const id of ["warm", "renamed", "revoked", "gap"]) await store.insert(storedKey(id));
    // No poll of its own during the test: the test says when the directory reads the store's changes.
    dir = new StoredKeyDirectory(store, { logger: createLogger("silent"), pollMs: 3_600_000 });
    await dir.start();
  });
  afterAll(async () => {
    dir?.close();
    await db?.close();
    await drop?.();
  });

  it("evicts only the keys a change names: the others are served through an outage that follows", async () => {
    for (const id of ["warm", "renamed", "revoked"]) expect((await dir.lookup(keyDigest(id)))?.keyId).toBe(id);
    const forgotten: (string | undefined)[] = [];
    dir.onForget((keyId) => forgotten.push(keyId));

    const renamed = (await store.get("renamed"))!;
    expect(await store.update({ ...renamed, displayName: "renamed, unrelated to the others", updateMs: 2 }, renamed.updateMs)).toBe(true);
    await store.revoke("revoked", 3);
    await dir.catchUp();
    expect(forgotten.sort()).toEqual(["renamed", "revoked"]);

    store.down = true;
    try {
      expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
      // The revoked key is not served from what the cache had, however briefly the store is away.
      await expect(Promise.resolve(dir.lookup(keyDigest("revoked")))).rejects.toMatchObject({ code: Code.Unavailable });
      await expect(Promise.resolve(dir.lookup(keyDigest("renamed")))).rejects.toMatchObject({ code: Code.Unavailable });
    } finally {
      store.down = false;
    }
    expect(await dir.lookup(keyDigest("revoked"))).toBeUndefined();
    expect((await dir.lookup(keyDigest("renamed")))?.name).toBe("renamed, unrelated to the others");
  });

  it("reads nothing again when nothing changed (what a Redis re-subscription asks)", async () => {
    const reads = store.reads;
    await dir.catchUp();
    expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
    expect(store.reads).toBe(reads);
  });

  it("re-reads every key when the log cannot say which changed, and serves them as they were while the store is away", async () => {
    expect((await dir.lookup(keyDigest("gap")))?.keyId).toBe("gap");
    // A change counted without its log row (an older gateway): any key may have changed.
    await db.run("UPDATE gateway_key_changes SET generation = generation + 1 WHERE id = 1");
    await dir.catchUp();
    const reads = store.reads;
    expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
    expect(store.reads).toBe(reads + 1);

    await db.run("UPDATE gateway_key_changes SET generation = generation + 1 WHERE id = 1");
    await dir.catchUp();
    store.down = true;
    try {
      expect((await dir.lookup(keyDigest("gap")))?.keyId).toBe("gap");
    } finally {
      store.down = false;
    }
  });
});

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
type CreatedKey = Awaited<ReturnType<Client<typeof AdminService>["createKey"]>>;

describe("two instances on Postgres, one of which loses it just after routine key admin on the other", () => {
  let fake: OpenAIFake;
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    database = await createPostgresDatabase();
    proxy = await tcpProxy(addressOf(database.url));
    await proxy.open();
    const env = { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_PEPPER: POSTGRES_PEPPER };
    a = await startGateway({ ...env, DATABASE_URL: database.url });
    b = await startGateway({ ...env, DATABASE_URL: throughProxy(database.url, proxy) });
  });
  afterAll(async () => {
    await proxy?.open();
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await database?.drop();
    await fake?.close();
  });

  it("keeps serving warm keys on the instance that lost the database, and never a key revoked before", async () => {
    const admin = createClient(AdminService, a.transport("connect"));
    const narrow = (name: string) => admin.updateKey({ key: { name, allowedModels: ["claude-*"] }, updateMask: create(FieldMaskSchema, { paths: ["allowed_models"] }) });
    const code = async (secret: string) => (await failure(b.client("connect", secret).chat(hi)).catch(() => undefined))?.code;
    const [warm, other, doomed] = (await Promise.all(["warm", "other", "doomed"].map((displayName) => admin.createKey({ key: { displayName } })))) as [CreatedKey, CreatedKey, CreatedKey];
    // A key created after them, in B's cache: once B refuses it its narrowed scope, B has evicted it, so its poll of the
    // store's changes (no Redis here) has read the marker's creation, and with it the others'.
    const marker = await admin.createKey({ key: { displayName: "marker" } });
    expect((await b.client("connect", marker.secret).chat(hi)).model).toBe("gpt-4o-mini");
    await narrow(marker.key!.name);
    await expect.poll(() => code(marker.secret)).toBe(Code.PermissionDenied);
    // B has the three in its cache.
    for (const key of [warm, other, doomed]) expect((await b.client("connect", key.secret).chat(hi)).model).toBe("gpt-4o-mini");

    // Routine admin on A: one key's scope narrowed, another revoked. B hears of both at its next poll.
    await narrow(other.key!.name);
    await admin.revokeKey({ name: doomed.key!.name });
    await expect.poll(() => code(other.secret)).toBe(Code.PermissionDenied);
    await expect.poll(() => code(doomed.secret)).toBe(Code.Unauthenticated);

    await proxy.cut();
    expect((await b.client("connect", warm.secret).chat(hi)).model).toBe("gpt-4o-mini");
    const refused = await failure(b.client("connect", doomed.secret).chat(hi));
    expect([Code.Unauthenticated, Code.Unavailable]).toContain(refused.code);
    if (refused.code === Code.Unavailable) expect(reasonOf(refused)).toBe("GATEWAY_KEYS_UNAVAILABLE");
  });
});
