// With a Postgres store and no SWITCHBOARD_PEPPER, the gateway made a pepper file in its data directory (a pod's
// emptyDir under Helm) and registered it in the shared database, silently: once that file was lost, no instance could
// start against the database again, and every gateway key was gone. Now the start is refused, naming
// SWITCHBOARD_PEPPER and how to make one, unless the database already holds keys hashed under the pepper file present:
// that fleet keeps working, and is told once how to move the file into SWITCHBOARD_PEPPER.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { KeyStore } from "../../src/auth/key-store.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { failure } from "../support/failure.js";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.js";
import { createPostgresDatabase, tempDir } from "../support/stores.js";

const MASTER = "sk-test-postgres-pepper-master-0123456789";

/** How a start ended: refused (its exit code), or listening (its URL). A gateway that listens is the caller's to stop. */
async function outcome(gateway: GatewayProcess): Promise<{ exited: number | null } | { url: string }> {
  return Promise.race([gateway.exited.then((code) => ({ exited: code })), gateway.listening().then((url) => ({ url }), () => new Promise<never>(() => {}))]);
}

async function stop(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill("SIGTERM");
  await gateway.exited;
}

function admin(url: string, key: string) {
  const auth = (next: any) => (req: any) => (req.header.set("authorization", `Bearer ${key}`), next(req));
  return createClient(AdminService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth] }));
}

/** Whether the gateway knows `secret`: a key without the admin scope is refused the AdminService as such, an unknown one as unauthenticated. */
async function knows(url: string, secret: string): Promise<boolean> {
  const err = await failure(admin(url, secret).listKeys({}));
  if (err.code === Code.PermissionDenied && reasonOf(err) === "ADMIN_SCOPE_REQUIRED") return true;
  expect(err.code, err.message).toBe(Code.Unauthenticated);
  return false;
}

describe("a Postgres store and the pepper", { timeout: 120_000 }, () => {
  let database: { url: string; drop(): Promise<void> };
  let db: PostgresDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    db = new PostgresDatabase(database.url);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it("refuses to start without SWITCHBOARD_PEPPER, saying how to make one, and makes no pepper file", async () => {
    const dataDir = tempDir("sb-pepper-");
    const gateway = spawnGateway({ DATABASE_URL: database.url, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_MASTER_KEY: MASTER });
    const ended = await outcome(gateway);
    if ("url" in ended) await stop(gateway);
    const output = gateway.output().trim();
    expect(ended, output).toEqual({ exited: 78 });
    expect(output.split("\n").filter((line) => !line.startsWith("{"))).toEqual([
      expect.stringMatching(/^switchboard: configuration error: environment: SWITCHBOARD_PEPPER: is required with a Postgres store \(DATABASE_URL\): .*openssl rand -base64 32/),
    ]);
    expect(existsSync(join(dataDir, "pepper"))).toBe(false);
    // Nothing was registered in the database either: a pepper set later is taken as the store's.
    expect(await db.query("SELECT value FROM gateway_settings WHERE name = 'pepper_check'")).toEqual([]);
  });

  it("keeps a fleet whose keys are hashed under its pepper file working, says once how to move it, and the moved pepper opens the same keys", async () => {
    // What a fleet started before the refusal has: a pepper file in one data directory, registered in the database.
    const pepper = randomBytes(32);
    const dataDir = tempDir("sb-pepper-");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "pepper"), pepper, { mode: 0o600 });
    await migrate(db);
    expect(await new KeyStore(db).checkPepper(new KeyHasher(pepper).digest("switchboard pepper check").toString("hex"))).toBe(true);

    const withFile = spawnGateway({ DATABASE_URL: database.url, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_MASTER_KEY: MASTER });
    const started = await outcome(withFile);
    expect(started, withFile.output()).toHaveProperty("url");
    const url = (started as { url: string }).url;
    let secret: string;
    try {
      ({ secret } = await admin(url, MASTER).createKey({ key: { displayName: "made under the file pepper" } }));
      expect(await knows(url, secret)).toBe(true);
    } finally {
      await stop(withFile);
    }
    const warnings = withFile
      .output()
      .split("\n")
      .filter((line) => line.includes("hashed under the pepper file"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: "warn" });
    expect(warnings[0]).toContain(`SWITCHBOARD_PEPPER=\\"base64:$(base64 -w0 ${join(dataDir, "pepper")})\\"`);
    for (const encoding of ["base64", "hex", "base64url"] as const) expect(withFile.output()).not.toContain(pepper.toString(encoding).slice(0, 16));

    // Moved into SWITCHBOARD_PEPPER, the pepper needs no file: a new data directory opens the same keys, with nothing to warn of.
    const moved = spawnGateway({ DATABASE_URL: database.url, SWITCHBOARD_DATA_DIR: tempDir("sb-pepper-"), SWITCHBOARD_MASTER_KEY: MASTER, SWITCHBOARD_PEPPER: `base64:${pepper.toString("base64")}` });
    const restarted = await outcome(moved);
    expect(restarted, moved.output()).toHaveProperty("url");
    try {
      expect(await knows((restarted as { url: string }).url, secret)).toBe(true);
    } finally {
      await stop(moved);
    }
    expect(moved.output()).not.toContain("hashed under the pepper file");
  });

  it("refuses a pepper file that is not the one the database's keys were hashed under", async () => {
    const dataDir = tempDir("sb-pepper-");
    writeFileSync(join(dataDir, "pepper"), randomBytes(32), { mode: 0o600 });
    const gateway = spawnGateway({ DATABASE_URL: database.url, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_MASTER_KEY: MASTER });
    const ended = await outcome(gateway);
    if ("url" in ended) await stop(gateway);
    const output = gateway.output().trim();
    expect(ended, output).toEqual({ exited: 78 });
    expect(output).toMatch(/configuration error: environment: SWITCHBOARD_PEPPER: is required with a Postgres store.*; the pepper file in the data directory is not the one this database's gateway keys were hashed under/);
  });

  it("refuses a base64: pepper that is not base64", async () => {
    const gateway = spawnGateway({ DATABASE_URL: database.url, SWITCHBOARD_DATA_DIR: tempDir("sb-pepper-"), SWITCHBOARD_MASTER_KEY: MASTER, SWITCHBOARD_PEPPER: "base64:not base64 at all!" });
    const ended = await outcome(gateway);
    if ("url" in ended) await stop(gateway);
    expect(ended, gateway.output()).toEqual({ exited: 78 });
    expect(gateway.output()).toMatch(/configuration error: environment: SWITCHBOARD_PEPPER: starts with base64: but the rest is not base64/);
  });
});
