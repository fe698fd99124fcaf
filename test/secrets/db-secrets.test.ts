// `db:` secrets in real gateways: `switchboard secrets … --store db` end to
// end through the AdminService, a new version staged as a canary and
// promoted, a KEK rotation (Vault Transit on the suite's OpenBao) rewrapped
// while calls flow, and every instance sharing Postgres seeing a new version
// (over Redis, and by polling without it). Every planted value is looked for
// in the store's bytes, the logs and the admin answers.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { ListStoredSecretsResponseSchema } from "../../gen/ts/switchboard/v1/admin_secrets_pb.js";
import { secretsCommand } from "../../src/cli/secrets-command.js";
import { DbSecretStore } from "../../src/secrets/db-secret-store.js";
import { LocalKek } from "../../src/secrets/kek-local.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { runCli } from "../support/cli-process.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { createPostgresDatabase, redisPrefix, tempDir } from "../support/stores.js";
import { adminClient, calls, credentials, hello } from "./support/admin.js";
import { BaoAdmin, eventually, unique } from "./support/bao.js";
import { keysServing, underLoad } from "./support/traffic.js";
import { transitKey } from "./support/transit.js";

/** Every value planted in this file: none may show up in a store's bytes, a log line or an answer. */
const planted: string[] = [MASTER_KEY];
const vendorKey = (label: string) => {
  const value = `sk-CANARY-${label}-${randomBytes(12).toString("hex")}`;
  planted.push(value);
  return value;
};
function expectNothingPlantedIn(...texts: string[]): void {
  const all = texts.join("\n");
  for (const value of planted) expect(all).not.toContain(value);
}
const secretKey = () => randomBytes(32).toString("base64");
const name = (id: string) => `providers/openai/credentials/${id}`;
const state = async (gw: TestGateway, id: string) => (await credentials(adminClient(gw), "openai")).byName.get(name(id))?.state;

/** Calls until `id` leaves STANDBY (promoted or rolled back), at most 300. */
async function callUntilJudged(gw: TestGateway, id: string): Promise<void> {
  for (let i = 0; i < 300 && (await state(gw, id)) === CredentialState.STANDBY; i++) await gw.client().chat(hello).catch(() => undefined);
}

/** `switchboard secrets …` in this process, with `input` on stdin. */
async function secrets(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk) => out.push(String(chunk)));
  stderr.on("data", (chunk) => err.push(String(chunk)));
  const code = await secretsCommand(args, { stdin: stdin as unknown as NodeJS.ReadStream, stdout, stderr, env });
  return { code, stdout: out.join(""), stderr: err.join("") };
}


describe("switchboard secrets --store db, end to end", () => {
  const OLD = vendorKey("env");
  const K1 = vendorKey("db-v1");
  const K2 = vendorKey("db-v2");
  const dataDir = tempDir("sb-dbsecrets-");
  let fake: OpenAIFake;
  let gw: TestGateway;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: [K1, K2] });
    gw = await startGateway(
      { KEY_OLD: OLD, SWITCHBOARD_SECRET_KEY: secretKey(), SWITCHBOARD_DATA_DIR: dataDir },
      // Polling every minute: a new version found within the tests' waits was found by the check beside the admin call.
      { providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_500, keys: [{ id: "primary", secret: "env:KEY_OLD", weight: 1 }] } }, secrets: { db: { refresh_ms: 60_000 } }, key_pool: { canary_share: 0.5, promote_after: 5 } },
    );
    // The CLI needs no data key: the gateway encrypts.
    cliEnv = { PATH: process.env.PATH, SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY, SWITCHBOARD_CONFIG: "" };
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("set stores version 1 and prints its fingerprint, never the value", async () => {
    const set = await runCli(["secrets", "set", "openai-prod", "--store", "db"], cliEnv, { input: `${K1}\n` });
    expect(set.stderr).not.toMatch(/error/i);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^stored openai-prod version 1 \(fingerprint [0-9a-f]{8}, wrapped with local:[0-9a-f]{8}\) in the gateway's database; refer to it as "db:openai-prod"\n$/);
    const again = await secrets(["set", "openai-prod", "--store", "db"], cliEnv, K2);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("AlreadyExists: a secret named \"openai-prod\" exists already: add a version with `switchboard secrets rotate openai-prod --store db`");
    expectNothingPlantedIn(set.stdout, set.stderr, again.stdout, again.stderr);
  }, 60_000);

  it("a key staged from db: is a canary, promoted when the vendor accepts it", async () => {
    const admin = adminClient(gw);
    const staged = await admin.stageKey({ parent: "providers/openai", credentialId: "prod", secretRef: "db:openai-prod", replaces: name("primary") });
    expect(staged.credential).toMatchObject({ name: name("prod@v1"), state: CredentialState.STANDBY, secretRef: "db:openai-prod", version: 1n });
    await callUntilJudged(gw, "prod@v1");
    expect(await state(gw, "prod@v1")).toBe(CredentialState.ACTIVE);
    expect(await keysServing(gw, fake)).toEqual([K1]);
  });

  it("rotate adds version 2: this gateway stages it at once, and promotes it", async () => {
    const rotate = await secrets(["rotate", "openai-prod", "--store", "db"], cliEnv, K2);
    expect(rotate).toMatchObject({ code: 0 });
    expect(rotate.stdout).toMatch(/^added version 2 of openai-prod \(fingerprint [0-9a-f]{8}\); gateways using "db:openai-prod" stage it as a canary\n$/);
    // The rotation's check runs beside the CLI's answer: the canary appears long before the minute's poll.
    const stagedV2 = async () => (await credentials(adminClient(gw), "openai")).byName.get(name("prod@v2"));
    await expect.poll(stagedV2, { timeout: 10_000, interval: 50 }).toBeDefined();
    const canary = (await stagedV2())!;
    expect(canary).toMatchObject({ state: CredentialState.STANDBY, version: 2n });
    expect(canary.canary?.replaces).toBe(name("prod@v1"));
    await callUntilJudged(gw, "prod@v2");
    expect(await state(gw, "prod@v2")).toBe(CredentialState.ACTIVE);
    expect(await keysServing(gw, fake)).toEqual([K2]);
  });

  it("list shows versions and fingerprints; the admin API answers carry no value", async () => {
    const list = await runCli(["secrets", "list", "--store", "db"], cliEnv);
    expect(list.code).toBe(0);
    const [header, row] = list.stdout.trim().split("\n");
    expect(header).toMatch(/^NAME\s+VERSION\s+VERSIONS\s+FINGERPRINT\s+KEY-ENCRYPTION KEY\s+UPDATED$/);
    expect(row).toMatch(/^openai-prod\s+2\s+2\s+[0-9a-f]{8}\s+local:[0-9a-f]{8}\s+\d{4}-\d\d-\d\dT/);
    const admin = adminClient(gw);
    const answer = await admin.listStoredSecrets({});
    expect(answer.secrets.map((s) => [s.name, s.latestVersion?.name, s.latestVersion?.creator])).toEqual([["secrets/openai-prod", "secrets/openai-prod/versions/2", "master"]]);
    expectNothingPlantedIn(list.stdout, list.stderr, toJsonString(ListStoredSecretsResponseSchema, answer), (await credentials(admin, "openai")).json);
  }, 60_000);

  it("mistakes are clear and echo no value", async () => {
    const admin = adminClient(gw);
    const bad = await admin.createStoredSecret({ secretId: "../x", value: K1 }).catch((e) => ConnectError.from(e));
    expect(bad).toMatchObject({ code: Code.InvalidArgument });
    expect((bad as ConnectError).rawMessage).toBe("secret_id: must be 1-128 letters, digits, '.', '_', '/' or '-', starting with a letter or digit");
    const missing = await admin.addStoredSecretVersion({ parent: "secrets/nobody", value: K1 }).catch((e) => ConnectError.from(e));
    expect(missing).toMatchObject({ code: Code.NotFound });
    const empty = await admin.createStoredSecret({ secretId: "empty", value: "" }).catch((e) => ConnectError.from(e));
    expect((empty as ConnectError).rawMessage).toBe("value: is required");
    const wrongStore = await secrets(["rotate", "openai-prod"], cliEnv);
    expect(wrongStore.code).toBe(2);
    expect(wrongStore.stderr).toMatch(/^"secrets rotate" works on --store db/);
    expectNothingPlantedIn(String(bad), String(missing), String(empty));
  });

  it("rewrap finds every data key on the current KEK; rm deletes every version while the gateway keeps serving", async () => {
    const rewrap = await secrets(["rewrap", "--store", "db"], cliEnv);
    expect(rewrap).toMatchObject({ code: 0 });
    expect(rewrap.stdout).toMatch(/^rewrapped 0 data keys with local:[0-9a-f]{8}; 2 were on it already\n$/);
    expect(await secrets(["rm", "openai-prod", "--store", "db"], cliEnv)).toMatchObject({ code: 0, stdout: "removed openai-prod (every version) from the gateway's database\n" });
    expect(await secrets(["list", "--store", "db"], cliEnv)).toMatchObject({ code: 0, stdout: "no secrets in the gateway's database\n" });
    expect((await calls(gw, 5)).failed).toEqual([]);
    expect((await secrets(["rm", "openai-prod", "--store", "db"], cliEnv)).stderr).toContain('NotFound: no stored secret "openai-prod"');
  });

  it("leaves no planted value in the SQLite file's bytes or any log line", async () => {
    await gw.stop();
    const bytes = readFileSync(join(dataDir, "switchboard.db")).toString("latin1");
    expect(bytes.length).toBeGreaterThan(0);
    expectNothingPlantedIn(bytes, gw.logs.text);
    expect(gw.logs.entries.some((e) => e.msg === "admin added a secret version" && e.secret === "openai-prod" && e.version === 2)).toBe(true);
  });
});

describe("a KEK rotation under load (Vault Transit)", () => {
  const OLD = vendorKey("transit-env");
  const LIVE = vendorKey("transit-live");
  const NEXT = vendorKey("transit-next");
  const dataDir = tempDir("sb-transit-");
  const mount = unique("transit");
  let bao: BaoAdmin;
  let transit: Awaited<ReturnType<typeof transitKey>>;
  let fake: OpenAIFake;
  let gw: TestGateway;
  const env = () => ({ KEY_OLD: OLD, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_SECRET_KEK: "vault-transit", VAULT_ADDR: bao.addr, VAULT_TOKEN: transit.token });
  const file = (keys: { id: string; secret: string; weight: number }[]) => ({
    providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_500, keys } },
    secrets: { db: { transit_mount: mount, transit_key: "switchboard" } },
    key_pool: { canary_share: 0.3, promote_after: 5 },
  });

  beforeAll(async () => {
    bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
    planted.push(bao.rootToken);
    transit = await transitKey(bao, mount, "switchboard");
    planted.push(transit.token);
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: [LIVE, NEXT] });
    gw = await startGateway(env(), file([{ id: "primary", secret: "env:KEY_OLD", weight: 1 }]));
    const admin = adminClient(gw);
    const created = await admin.createStoredSecret({ secretId: "openai-live", value: LIVE });
    expect(created.secret!.latestVersion!.keyEncryptionKey).toBe(`vault-transit:${mount}/switchboard:v1`);
    await admin.stageKey({ parent: "providers/openai", credentialId: "live", secretRef: "db:openai-live", replaces: name("primary") });
    await admin.promoteKey({ name: name("live@v1") });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("rewraps every data key inside Vault while calls flow, with no failed call", async () => {
    const admin = adminClient(gw);
    const { failed } = await underLoad(gw, async () => {
      // A version written under v1, then the key rotated in Vault, then a version written under v2 (staged as a canary meanwhile).
      await admin.addStoredSecretVersion({ parent: "secrets/openai-live", value: NEXT });
      expect(await transit.rotate()).toBe(2);
      const rewrap = await admin.rewrapStoredSecrets({});
      expect(rewrap).toMatchObject({ keyEncryptionKey: `vault-transit:${mount}/switchboard:v2`, rewrappedCount: 2n, unchangedCount: 0n, skippedCount: 0n });
      const written = await admin.addStoredSecretVersion({ parent: "secrets/openai-live", value: NEXT });
      expect(written.version!.keyEncryptionKey).toBe(`vault-transit:${mount}/switchboard:v2`);
    });
    expect(failed).toEqual([]);
    expect((await admin.rewrapStoredSecrets({})).rewrappedCount).toBe(0n);
  }, 60_000);

  it("a restart reads the rewrapped data keys: the db: key serves", async () => {
    await gw.stop();
    gw = await startGateway(env(), file([{ id: "live", secret: "db:openai-live", weight: 1 }]));
    expect((await keysServing(gw, fake, 10)).length).toBeGreaterThan(0);
    await gw.stop();
    expectNothingPlantedIn(gw.logs.text, readFileSync(join(dataDir, "switchboard.db")).toString("latin1"));
  }, 60_000);
});

describe("every instance sharing the database sees a new version", () => {
  const V1 = vendorKey("shared-v1");
  const V2 = vendorKey("shared-v2");
  const root = secretKey();
  const pepper = randomBytes(32).toString("hex");
  let fake: OpenAIFake;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: V1, extraKeys: [V2] });
  });
  afterAll(async () => {
    await fake?.close();
  });

  /** A Postgres database holding `db:shared` at version 1, written as an operator's first `secrets set` would. */
  async function seededDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
    const pg = await createPostgresDatabase();
    const db = new PostgresDatabase(pg.url);
    await migrate(db);
    await new DbSecretStore(db, () => new LocalKek(Buffer.from(root, "base64"))).create("shared", V1, "master");
    await db.close();
    return pg;
  }

  async function fleet(pg: { url: string }, extra: Record<string, string>, refreshMs: number): Promise<[TestGateway, TestGateway]> {
    const env = { DATABASE_URL: pg.url, SWITCHBOARD_SECRET_KEY: root, SWITCHBOARD_PEPPER: pepper, ...extra };
    // Half the calls go to the canary, so 40 calls miss it with odds of 1e-12 (at the default tenth, 1.5%).
    const file = { providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "db:shared", weight: 1 }] } }, secrets: { db: { refresh_ms: refreshMs } }, key_pool: { canary_share: 0.5, promote_after: 1_000 } };
    const a = await startGateway(env, file);
    return [a, await startGateway(env, file).catch(async (err) => (await a.stop(), Promise.reject(err)))];
  }

  it("over Redis: a version added on one instance is a canary on the other long before its poll", async () => {
    const pg = await seededDatabase();
    // Polling every minute: only the Redis notice can be this quick.
    const [a, b] = await fleet(pg, { REDIS_URL: requireService("SWITCHBOARD_TEST_REDIS_URL"), REDIS_PREFIX: redisPrefix() }, 60_000);
    try {
      expect(await state(b, "primary@v1")).toBe(CredentialState.ACTIVE);
      await adminClient(a).addStoredSecretVersion({ parent: "secrets/shared", value: V2 });
      await eventually(async () => expect(await state(a, "primary@v2")).toBe(CredentialState.STANDBY), 10_000);
      await eventually(async () => expect(await state(b, "primary@v2")).toBe(CredentialState.STANDBY), 10_000);
      expectNothingPlantedIn(a.logs.text, b.logs.text);
    } finally {
      await a.stop();
      await b.stop();
      await pg.drop();
    }
  }, 60_000);

  it("without Redis: the other instance's poll finds it", async () => {
    const pg = await seededDatabase();
    const [a, b] = await fleet(pg, {}, 300);
    try {
      await adminClient(a).addStoredSecretVersion({ parent: "secrets/shared", value: V2 });
      await eventually(async () => expect(await state(b, "primary@v2")).toBe(CredentialState.STANDBY), 5_000);
      expect(await keysServing(b, fake, 40)).toContain(V2);
      expect(b.logs.entries.some((e) => e.msg === "new version of a database secret" && e.secret === "shared" && e.version === 2)).toBe(true);
      expectNothingPlantedIn(a.logs.text, b.logs.text);
    } finally {
      await a.stop();
      await b.stop();
      await pg.drop();
    }
  }, 60_000);
});
