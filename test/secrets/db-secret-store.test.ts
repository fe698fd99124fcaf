// The database store's envelope encryption on real engines: SQLite and
// Postgres, with each key-encryption key on its real backend (a local key;
// Vault Transit on the suite's OpenBao; AWS KMS on its moto server). The
// store's bytes never hold a planted value; rows cannot be swapped; a KEK
// rotation rewraps every data key and every version still reads.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { DbSecretError, DbSecretStore } from "../../src/secrets/db-secret-store.js";
import type { KeyEncryptionKey } from "../../src/secrets/kek.js";
import { KmsKek } from "../../src/secrets/kek-kms.js";
import { LocalKek } from "../../src/secrets/kek-local.js";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LogCapture } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { createPostgresDatabase, tempDir } from "../support/stores.js";
import { AwsAdmin, awsEnv } from "./support/aws.js";
import { BaoAdmin, unique } from "./support/bao.js";
import { transitKey } from "./support/transit.js";

const logs = new LogCapture();
const logger = createLogger("debug", logs);
/** A value no byte of the store may hold. */
const canary = () => `sk-CANARY-${randomBytes(16).toString("hex")}`;
const planted: string[] = [];

/** A store on a fresh SQLite file or Postgres database; `dump` is every byte (SQLite) or every row of every table (Postgres). */
async function openDb(kind: "sqlite" | "postgres"): Promise<{ db: SqlDatabase; dump(): Promise<string>; close(): Promise<void> }> {
  if (kind === "sqlite") {
    const file = join(tempDir("sb-dbsecrets-"), "switchboard.db");
    const db = new SqliteDatabase(file);
    await migrate(db);
    let closed = false;
    return {
      db,
      async dump() {
        await db.close();
        closed = true;
        return readFileSync(file).toString("latin1");
      },
      close: async () => (closed ? undefined : db.close()),
    };
  }
  const pg = await createPostgresDatabase();
  const db = new PostgresDatabase(pg.url);
  await migrate(db);
  return {
    db,
    async dump() {
      const tables = await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      const rows = await Promise.all(tables.map(async (t) => JSON.stringify(await db.query(`SELECT * FROM ${String(t.table_name)}`))));
      return rows.join("\n");
    },
    async close() {
      await db.close();
      await pg.drop();
    },
  };
}

interface KekCase {
  name: string;
  kind: "sqlite" | "postgres";
  /** The KEK, and how to move to a new version of it (returning the KEK to use from then on). */
  setup(): Promise<{ kek: KeyEncryptionKey; rotate(): Promise<{ kek: KeyEncryptionKey; all?: boolean }>; close(): void }>;
}

const rootKey = () => randomBytes(32);

const CASES: KekCase[] = [
  {
    name: "a local key (SWITCHBOARD_SECRET_KEY), on SQLite",
    kind: "sqlite",
    async setup() {
      const old = rootKey();
      return { kek: new LocalKek(old), rotate: async () => ({ kek: new LocalKek(rootKey(), [old]) }), close() {} };
    },
  },
  {
    name: "a local key, on Postgres",
    kind: "postgres",
    async setup() {
      const old = rootKey();
      return { kek: new LocalKek(old), rotate: async () => ({ kek: new LocalKek(rootKey(), [old]) }), close() {} };
    },
  },
  {
    name: "Vault Transit (OpenBao), on SQLite",
    kind: "sqlite",
    async setup() {
      const bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
      const mount = unique("transit");
      const transit = await transitKey(bao, mount, "switchboard");
      planted.push(transit.token);
      const vault = new VaultClient({ address: bao.addr, auth: { method: "token", token: transit.token }, timeoutMs: 2_000, logger });
      const kek = new TransitKek(vault, { address: bao.addr, mount, key: "switchboard", timeoutMs: 2_000 });
      return {
        kek,
        async rotate() {
          await transit.rotate();
          return { kek };
        },
        close: () => vault.close(),
      };
    },
  },
  {
    name: "AWS KMS (moto), on Postgres",
    kind: "postgres",
    async setup() {
      const endpoint = requireService("SWITCHBOARD_TEST_AWS_ENDPOINT");
      const aws = new AwsAdmin(endpoint);
      const env = awsEnv(endpoint);
      planted.push(env.AWS_SECRET_ACCESS_KEY!);
      const settings = { region: "us-east-1", endpoint, timeoutMs: 2_000, env };
      const first = new KmsKek(await aws.createKey("switchboard kek 1"), settings);
      const second = await aws.createKey("switchboard kek 2");
      return {
        kek: first,
        // A new key (SWITCHBOARD_KMS_KEY_ID pointed at it): ReEncrypt moves each data key inside KMS.
        rotate: async () => ({ kek: new KmsKek(second, settings) }),
        close: () => aws.close(),
      };
    },
  },
];

describe.each(CASES)("the database store with $name", ({ kind, setup }) => {
  let store: { db: SqlDatabase; dump(): Promise<string>; close(): Promise<void> };
  let kek: Awaited<ReturnType<KekCase["setup"]>>;

  beforeAll(async () => {
    store = await openDb(kind);
    kek = await setup();
  });
  afterAll(async () => {
    kek?.close();
    await store?.close();
  });

  it("keeps only ciphertext, wrapped keys and fingerprints: a planted value is nowhere in the store's bytes", async () => {
    const secrets = new DbSecretStore(store.db, () => kek.kek);
    const v1 = canary();
    const v2 = canary();
    planted.push(v1, v2);
    const created = await secrets.create("openai-prod", v1, "master");
    expect(created).toMatchObject({ name: "openai-prod", version: 1, createdBy: "master" });
    expect(created.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(created.kek).toBe(await kek.kek.current());
    const added = await secrets.addVersion("openai-prod", v2, "key-ops");
    expect(added.version).toBe(2);
    expect(await secrets.read("openai-prod")).toEqual({ value: v2, version: 2 });
    expect(await secrets.read("openai-prod", 1)).toEqual({ value: v1, version: 1 });
    expect((await secrets.list()).map((s) => [s.name, s.latest.version, s.versions])).toEqual([["openai-prod", 2, 2]]);
    expect(JSON.stringify(await secrets.list())).not.toMatch(/sk-CANARY/);

    // Mistakes, named without the value.
    const again = await secrets.create("openai-prod", "sk-other-value", "master").catch((e: DbSecretError) => e);
    expect(again).toMatchObject({ code: "already_exists" });
    expect(await secrets.addVersion("nobody", "sk-x", "master").catch((e: DbSecretError) => e.code)).toBe("not_found");
    expect(await secrets.create("../etc", "sk-x", "master").catch((e: DbSecretError) => [e.code, e.field])).toEqual(["invalid_argument", "name"]);

    if (kind === "postgres") {
      const dump = await store.dump();
      expect(dump).toContain("openai-prod");
      for (const value of planted) expect(dump).not.toContain(value);
    }
  });

  it("refuses a row whose columns were copied from another version or secret", async () => {
    const secrets = new DbSecretStore(store.db, () => kek.kek);
    await secrets.create("swap-a", canary(), "master");
    await secrets.create("swap-b", canary(), "master");
    // An attacker with write access to the table moves b's ciphertext and wrapped key onto a.
    const [b] = await store.db.query("SELECT ciphertext, wrapped_key, kek FROM stored_secret_versions WHERE name = 'swap-b'");
    await store.db.run("UPDATE stored_secret_versions SET ciphertext = $1, wrapped_key = $2, kek = $3 WHERE name = 'swap-a'", [String(b!.ciphertext), String(b!.wrapped_key), String(b!.kek)]);
    const err = await secrets.read("swap-a").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/fails authentication|refused|failed/);
    expect((err as Error).message).not.toMatch(/sk-CANARY/);
    await secrets.remove("swap-a");
    expect(await secrets.remove("swap-a")).toBe(false);
    // A removed name goes on counting: verdicts on its old versions never meet a new one.
    expect((await secrets.create("swap-a", canary(), "master")).version).toBe(2);
  });

  it("rewraps every data key with a new KEK version; every version still reads, and the ciphertext is untouched", async () => {
    const before = new DbSecretStore(store.db, () => kek.kek);
    const values = new Map<number, string>();
    for (let i = 0; i < 3; i++) {
      const value = canary();
      planted.push(value);
      values.set((await (i === 0 ? before.create("rotating", value, "master") : before.addVersion("rotating", value, "master"))).version, value);
    }
    const ciphertexts = await store.db.query("SELECT name, version, ciphertext FROM stored_secret_versions ORDER BY name, version");
    const oldKek = await kek.kek.current();

    const next = await kek.rotate();
    const after = new DbSecretStore(store.db, () => next.kek);
    const newKek = await next.kek.current();
    expect(newKek).not.toBe(oldKek);
    const result = await after.rewrap({ all: next.all });
    expect(result).toMatchObject({ kek: newKek, unchanged: 0, skipped: 0 });
    expect(result.rewrapped).toBe(ciphertexts.length);
    expect(new Set((await store.db.query("SELECT kek FROM stored_secret_versions")).map((row) => row.kek))).toEqual(new Set([newKek]));
    expect(await store.db.query("SELECT name, version, ciphertext FROM stored_secret_versions ORDER BY name, version")).toEqual(ciphertexts);
    for (const [version, value] of values) expect(await after.read("rotating", version)).toEqual({ value, version });
    // A second run finds nothing to do.
    expect(await after.rewrap()).toMatchObject({ rewrapped: 0, unchanged: ciphertexts.length });

    const dump = await store.dump();
    for (const value of planted) expect(dump).not.toContain(value);
  });
});

describe("AWS KMS key rotation (same key, new backing key)", () => {
  it("rewrap --all re-encrypts every data key inside KMS", async () => {
    const endpoint = requireService("SWITCHBOARD_TEST_AWS_ENDPOINT");
    const aws = new AwsAdmin(endpoint);
    const keyId = await aws.createKey("switchboard kek rotating");
    const kek = new KmsKek(keyId, { region: "us-east-1", endpoint, timeoutMs: 2_000, env: awsEnv(endpoint) });
    const store = await openDb("sqlite");
    const secrets = new DbSecretStore(store.db, () => kek);
    const value = canary();
    await secrets.create("kms-rotating", value, "master");
    const [before] = await store.db.query("SELECT wrapped_key FROM stored_secret_versions");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect(await secrets.rewrap()).toMatchObject({ rewrapped: 0, unchanged: 1 }); // same ARN: nothing to see
    expect(await secrets.rewrap({ all: true })).toMatchObject({ rewrapped: 1 });
    const [after] = await store.db.query("SELECT wrapped_key FROM stored_secret_versions");
    expect(after!.wrapped_key).not.toBe(before!.wrapped_key);
    expect((await secrets.read("kms-rotating")).value).toBe(value);
    kek.close();
    aws.close();
    expect(await store.dump()).not.toContain(value);
  });
});

describe("the local KEK", () => {
  it("says which key a data key needs when it has neither it nor a previous one, never the key", async () => {
    const store = await openDb("sqlite");
    const first = rootKey();
    await new DbSecretStore(store.db, () => new LocalKek(first)).create("lost", canary(), "master");
    const stranger = new LocalKek(rootKey());
    const err = await new DbSecretStore(store.db, () => stranger).read("lost").catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^the data key of this secret was wrapped with the local key local:[0-9a-f]{8}, which is neither SWITCHBOARD_SECRET_KEY \(local:[0-9a-f]{8}\) nor in SWITCHBOARD_SECRET_KEY_PREVIOUS$/);
    expect((err as Error).message).not.toContain(first.toString("base64"));
    await store.close();
  });
});

afterAll(() => {
  for (const value of planted) expect(logs.text).not.toContain(value);
});
