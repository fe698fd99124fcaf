// A stored secret whose key-encryption key fails (Transit not enabled, KMS
// down) leaves nothing behind: the value is sealed before any row is written,
// so the name can be created once the KEK is back, at version 1, and no
// version number is burnt. Writers racing on one name each get a number of
// their own, sealed for it. On SQLite and Postgres, and end to end through a
// gateway whose Vault has no Transit engine at the configured mount yet.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { DbSecretStore } from "../../src/secrets/db-secret-store.js";
import { KekError, type KeyEncryptionKey, type WrappedKey } from "../../src/secrets/kek.js";
import { LocalKek } from "../../src/secrets/kek-local.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";
import { adminClient } from "./support/admin.js";
import { BaoAdmin, unique } from "./support/bao.js";

const value = (label: string) => `sk-kekfail-${label}-${randomBytes(12).toString("hex")}`;

/** A local KEK that refuses to wrap while `failing` is set, as Transit without its engine does; `gate` holds each wrap until opened. */
class FlakyKek implements KeyEncryptionKey {
  readonly kind = "local";
  failing = false;
  gate: Promise<void> | undefined;
  wraps = 0;
  private readonly inner = new LocalKek(randomBytes(32));

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    this.wraps++;
    await this.gate;
    if (this.failing) throw new KekError("Vault transit encrypt with transit/switchboard failed: HTTP 404 (no handler for route)");
    return this.inner.wrap(dataKey, context);
  }
  unwrap(wrapped: WrappedKey, context: string): Promise<Buffer> {
    return this.inner.unwrap(wrapped, context);
  }
  current(): Promise<string> {
    return this.inner.current();
  }
  rewrap(wrapped: WrappedKey, context: string): Promise<WrappedKey> {
    return this.inner.rewrap(wrapped, context);
  }
}

describe.each<StoreKind>(["sqlite", "postgres"])("a stored secret written while the KEK fails, on %s", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let kek: FlakyKek;
  let store: DbSecretStore;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  const fresh = () => {
    kek = new FlakyKek();
    store = new DbSecretStore(db, () => kek);
  };
  const refusal = (write: Promise<unknown>) => write.then(() => undefined, (err: unknown) => err);

  it("leaves no name behind: the retry fails the same way, the list is empty, and once the KEK is back the secret is version 1", async () => {
    fresh();
    kek.failing = true;
    for (let i = 0; i < 2; i++) expect(await refusal(store.create("tr1", value("a"), "master"))).toBeInstanceOf(KekError);
    expect(await store.list()).toEqual([]);
    expect(await db.query("SELECT name FROM stored_secrets WHERE name = 'tr1'")).toEqual([]);
    kek.failing = false;
    const secret = value("a");
    expect(await store.create("tr1", secret, "master")).toMatchObject({ name: "tr1", version: 1 });
    expect(await store.read("tr1")).toEqual({ value: secret, version: 1 });
    expect((await store.list()).map((s) => [s.name, s.latest.version, s.versions])).toEqual([["tr1", 1, 1]]);
  });

  it("burns no version number when a new version fails at the KEK", async () => {
    fresh();
    await store.create("tr2", value("v1"), "master");
    kek.failing = true;
    for (let i = 0; i < 3; i++) expect(await refusal(store.addVersion("tr2", value("lost"), "master"))).toBeInstanceOf(KekError);
    kek.failing = false;
    const v2 = value("v2");
    expect((await store.addVersion("tr2", v2, "master")).version).toBe(2);
    expect(await store.read("tr2")).toEqual({ value: v2, version: 2 });
  });

  it("takes back a name an earlier failed seal left without a version, going on counting", async () => {
    fresh();
    // What a failed create left before the seal came first: the counter row, no version.
    await db.run("INSERT INTO stored_secrets (name, last_version, create_ms, update_ms) VALUES ('orphan', 1, 1, 1)");
    expect(await refusal(store.addVersion("orphan", value("x"), "master"))).toMatchObject({ code: "not_found" });
    const secret = value("orphan");
    expect(await store.create("orphan", secret, "master")).toMatchObject({ version: 2 });
    expect(await store.read("orphan")).toEqual({ value: secret, version: 2 });
    expect(await refusal(store.create("orphan", value("again"), "master"))).toMatchObject({ code: "already_exists" });
  });

  it("gives writers racing on one name a number each, each version sealed for its own number", async () => {
    fresh();
    await store.create("raced", value("v1"), "master");
    // Both writers read the counter (1) and seal for version 2 before either claims it.
    let open!: () => void;
    kek.gate = new Promise((resolve) => (open = resolve));
    const [a, b] = [value("a"), value("b")];
    const writes = [store.addVersion("raced", a, "master"), store.addVersion("raced", b, "master")];
    while (kek.wraps < 3) await new Promise((resolve) => setImmediate(resolve));
    kek.gate = undefined;
    open();
    const versions = (await Promise.all(writes)).map((v) => v.version);
    expect(versions.sort()).toEqual([2, 3]);
    // The loser sealed again for 3: both read back (a value sealed for 2 but stored as 3 would fail authentication).
    const read = [await store.read("raced", 2), await store.read("raced", 3)].map((v) => v.value);
    expect(read.sort()).toEqual([a, b].sort());
    expect(kek.wraps).toBe(4);
  });
});

describe("CreateStoredSecret through a gateway whose Vault has no Transit engine at the mount yet", () => {
  const mount = unique("transit-later");
  let bao: BaoAdmin;
  let gw: TestGateway;
  const seen: string[] = [];
  const secret = value("gw");

  beforeAll(async () => {
    bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
    const policy = `${mount}-use`;
    await bao.policy(policy, ["encrypt", "decrypt", "rewrap"].map((op) => `path "${mount}/${op}/switchboard" {\n  capabilities = ["update"]\n}\n`).join(""));
    const token = await bao.token({ policies: [policy], ttl: "1h" });
    gw = await startGateway(
      { OPENAI_API_KEY: "sk-openai-kekfail-0123456789", SWITCHBOARD_SECRET_KEK: "vault-transit", VAULT_ADDR: bao.addr, VAULT_TOKEN: token },
      { secrets: { db: { transit_mount: mount, transit_key: "switchboard" } } },
    );
  });
  afterAll(() => gw?.stop());

  it("refuses the same way on every try, lists nothing, then stores version 1 once Transit is enabled", async () => {
    const admin = adminClient(gw);
    for (let i = 0; i < 2; i++) {
      const err = await failure(admin.createStoredSecret({ secretId: "tr1", value: secret }));
      seen.push(err.message);
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toMatch(/^the key-encryption key refused: Vault transit encrypt/);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).not.toBe("ALREADY_EXISTS");
    }
    expect((await admin.listStoredSecrets({})).secrets).toEqual([]);

    await bao.request("POST", `sys/mounts/${mount}`, { type: "transit" });
    await bao.request("POST", `${mount}/keys/switchboard`, {});
    const created = await admin.createStoredSecret({ secretId: "tr1", value: secret });
    expect(created.secret?.latestVersion).toMatchObject({ version: 1n, keyEncryptionKey: `vault-transit:${mount}/switchboard:v1` });
    expect((await admin.listStoredSecrets({})).secrets.map((s) => s.name)).toEqual(["secrets/tr1"]);
    for (const text of [...seen, gw.logs.text]) expect(text).not.toContain(secret);
    expect(gw.logs.text).not.toContain(MASTER_KEY);
  });
});
