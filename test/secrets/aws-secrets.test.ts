// `aws-sm:` secrets against a real AWS API server on loopback (moto in
// server mode, started by the global setup): reads, JSON fields, version
// numbers, and AWS's rotation labels driving the canary rotation — a new
// AWSCURRENT promoted, a bad AWSPENDING rolled back, the verdict kept across
// a restart, a good AWSPENDING promoted.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { parseSecretRef } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { AwsSecretSource } from "../../src/secrets/aws-secret-source.js";
import { AwsVersionNumbers } from "../../src/secrets/aws-version-numbers.js";
import { migrate } from "../../src/store/migrations.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { LogCapture, MASTER_KEY, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { tempDir } from "../support/stores.js";
import { adminClient, credentials, credentialStates, hello } from "./support/admin.js";
import { AwsAdmin, awsEnv, startAwsKeyGateway } from "./support/aws.js";
import { eventually, unique } from "./support/bao.js";
import { keysServing } from "./support/traffic.js";

const secrets: string[] = [MASTER_KEY];
const vendorKey = (label: string) => {
  const value = `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  secrets.push(value);
  return value;
};
function expectNoSecretIn(...texts: string[]): void {
  const all = texts.join("\n");
  for (const value of secrets) expect(all).not.toContain(value);
}

let aws: AwsAdmin;
let env: Record<string, string>;
beforeAll(() => {
  const endpoint = requireService("SWITCHBOARD_TEST_AWS_ENDPOINT");
  aws = new AwsAdmin(endpoint);
  env = awsEnv(endpoint);
  secrets.push(env.AWS_SECRET_ACCESS_KEY!);
});
afterAll(() => aws?.close());

describe("the aws-sm: source", () => {
  const logs = new LogCapture();
  let source: AwsSecretSource;
  let db: SqliteDatabase;

  beforeAll(async () => {
    db = new SqliteDatabase(`${tempDir("sb-aws-")}/switchboard.db`);
    await migrate(db);
    source = new AwsSecretSource({
      region: "us-east-1",
      endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
      timeoutMs: 2_000,
      env,
      refreshMs: 100,
      numbers: new AwsVersionNumbers(db),
      logger: createLogger("debug", logs),
    });
  });
  afterAll(async () => {
    await source?.close();
    await db?.close();
  });

  it("reads a whole string, or one field of a JSON secret, with its version number", async () => {
    const plain = unique("switchboard/plain");
    const json = unique("switchboard/json");
    const K = vendorKey("plain");
    const J = vendorKey("json");
    await aws.createSecret(plain, K);
    await aws.createSecret(json, JSON.stringify({ api_key: J, org: "org-1" }));
    expect(await source.read(parseSecretRef(`aws-sm:${plain}`))).toEqual({ value: K, version: 1 });
    expect(await source.read(parseSecretRef(`aws-sm:${json}#api_key`))).toEqual({ value: J, version: 1 });
    expect(await source.resolve(parseSecretRef(`aws-sm:${json}#org`))).toBe("org-1");
  });

  it("names the fields a secret has, never their values, and says when a secret does not exist", async () => {
    const json = unique("switchboard/fields");
    await aws.createSecret(json, JSON.stringify({ key: vendorKey("fields") }));
    const missingField = await source.resolve(parseSecretRef(`aws-sm:${json}#api_key`)).catch((e: Error) => e);
    expect((missingField as Error).message).toBe(`aws-sm: aws-sm:${json}#api_key: version 1 of ${json} has no non-empty string field "api_key" (fields: key)`);
    const missing = await source.resolve(parseSecretRef("aws-sm:switchboard/does-not-exist")).catch((e: Error) => e);
    expect((missing as Error).message).toBe(
      "aws-sm: aws-sm:switchboard/does-not-exist: AWS DescribeSecret switchboard/does-not-exist failed: ResourceNotFoundException (HTTP 404): Secrets Manager can't find the specified secret.",
    );
    const malformed = await source.resolve(parseSecretRef("aws-sm:has space")).catch((e: Error) => e);
    expect((malformed as Error).message).toContain('must look like "aws-sm:NAME" or "aws-sm:NAME#FIELD"');
    expectNoSecretIn(String(missingField), String(missing), logs.text);
  });

  it("hands each newer AWSPENDING or AWSCURRENT version to the watchers, numbered in order", async () => {
    const id = unique("switchboard/watched");
    await aws.createSecret(id, JSON.stringify({ api_key: vendorKey("w1") }));
    const ref = parseSecretRef(`aws-sm:${id}#api_key`);
    expect((await source.read(ref)).version).toBe(1);
    const seen: { value: string; version?: number }[] = [];
    source.watch(ref, (secret) => seen.push(secret));
    const pending = vendorKey("w2");
    await aws.putVersion(id, JSON.stringify({ api_key: pending }), "AWSPENDING");
    await eventually(() => expect(seen).toEqual([{ value: pending, version: 2 }]));
    const current = vendorKey("w3");
    await aws.putVersion(id, JSON.stringify({ api_key: current }));
    await eventually(() => expect(seen.map((s) => s.version)).toEqual([2, 3]));
    // Earlier versions stay readable by number (a restart serving the last good one needs it).
    expect((await source.readVersion(ref, 2)).value).toBe(pending);
  });

  it("backs off when AWS throttles: reads are served from memory, and a new version still arrives afterwards", async () => {
    // A loopback proxy in front of moto answering AWS's throttling error (JSON, HTTP 400) while `throttling` is on.
    let throttling = false;
    let throttled = 0;
    const upstream = env.AWS_ENDPOINT_URL_SECRETS_MANAGER!;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", async () => {
        if (throttling) {
          throttled++;
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }));
          return;
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([key]) => key !== "host" && key !== "content-length")) as Record<string, string>;
        const answer = await fetch(`${upstream}${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) });
        res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const throttledLogs = new LogCapture();
    const throttledSource = new AwsSecretSource({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      timeoutMs: 2_000,
      env,
      refreshMs: 100,
      numbers: new AwsVersionNumbers(db),
      logger: createLogger("debug", throttledLogs),
    });
    try {
      const id = unique("switchboard/throttled");
      const first = vendorKey("t1");
      await aws.createSecret(id, first);
      const ref = parseSecretRef(`aws-sm:${id}`);
      const seen: (number | undefined)[] = [];
      expect(await throttledSource.read(ref)).toEqual({ value: first, version: 1 });
      throttledSource.watch(ref, (secret) => seen.push(secret.version));
      throttling = true;
      await eventually(() => expect(throttledLogs.entries.some((e) => e.msg === "AWS throttles the gateway's reads: polling this secret less often")).toBe(true), 15_000);
      expect(throttled).toBeGreaterThanOrEqual(3); // the SDK retried before giving up on that poll
      expect(await throttledSource.read(ref)).toEqual({ value: first, version: 1 });
      throttling = false;
      await aws.putVersion(id, vendorKey("t2"));
      await eventually(() => expect(seen).toEqual([2]), 15_000);
      expectNoSecretIn(throttledLogs.text);
    } finally {
      await throttledSource.close();
      proxy.close();
    }
  }, 40_000);
});

describe("AWS version labels drive the canary rotation", () => {
  const id = unique("switchboard/openai");
  const K1 = vendorKey("aws-v1");
  const K2 = vendorKey("aws-v2");
  const BAD = vendorKey("aws-revoked");
  const K4 = vendorKey("aws-v4");
  const dataDir = tempDir("sb-aws-canary-");
  const accepted: string[] = [];
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;
  let fake: OpenAIFake;
  let gw: TestGateway | undefined;
  const states = credentialStates;
  const start = () => startAwsKeyGateway(env, dataDir, fake.baseUrl, id);
  const callUntilJudged = async (gateway: TestGateway, version: number) => {
    for (let i = 0; i < 300 && (await states(gateway)).get(name(version)) === CredentialState.STANDBY; i++) await gateway.client().chat(hello).catch(() => undefined);
  };

  beforeAll(async () => {
    await aws.createSecret(id, JSON.stringify({ api_key: K1 }));
    fake = await startOpenAIFake({ apiKey: K1, extraKeys: accepted });
    gw = await start();
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("starts on AWSCURRENT, named by its version number", async () => {
    const { byName, json } = await credentials(adminClient(gw!), "openai");
    expect(byName.get(name(1))).toMatchObject({ state: CredentialState.ACTIVE, version: 1n, secretRef: `aws-sm:${id}#api_key` });
    expectNoSecretIn(json);
  });

  it("a new AWSCURRENT version is staged on the canary share and promoted after N good calls", async () => {
    accepted.push(K2);
    await aws.putVersion(id, JSON.stringify({ api_key: K2 }));
    await eventually(async () => expect((await states(gw!)).get(name(2))).toBe(CredentialState.STANDBY));
    await callUntilJudged(gw!, 2);
    const after = (await credentials(adminClient(gw!), "openai")).byName;
    expect(after.get(name(2))).toMatchObject({ state: CredentialState.ACTIVE });
    expect(after.get(name(2))!.stateReason).toMatch(/^promoted automatically: 5 successful calls/);
    expect(after.get(name(1))!.state).toBe(CredentialState.DRAINING);
  });

  it("an AWSPENDING version the vendor rejects is rolled back; AWSCURRENT keeps serving", async () => {
    await aws.putVersion(id, JSON.stringify({ api_key: BAD }), "AWSPENDING");
    await eventually(async () => expect((await states(gw!)).get(name(3))).toBe(CredentialState.STANDBY));
    await callUntilJudged(gw!, 3);
    const rolledBack = (await credentials(adminClient(gw!), "openai")).byName.get(name(3))!;
    expect(rolledBack.state).toBe(CredentialState.RETIRED);
    expect(rolledBack.stateReason).toBe("canary failed: rejected by the vendor (HTTP 401, invalid_api_key)");
    expect(await keysServing(gw!, fake, 10)).toEqual([K2]);
  });

  it("after a restart, serves the last good version, not the rejected AWSPENDING one", async () => {
    await gw!.stop();
    gw = await start();
    expect([...(await states(gw)).keys()]).toEqual([name(2)]);
    expect(gw.logs.entries.some((e) => e.msg === "the latest version was rolled back earlier: serving the last good one" && e.latest === 3 && e.serving === 2)).toBe(true);
    expect(await keysServing(gw, fake, 10)).toEqual([K2]);
  });

  it("a good AWSPENDING version (a rotation's next step) is staged and promoted", async () => {
    accepted.push(K4);
    await aws.putVersion(id, JSON.stringify({ api_key: K4 }), "AWSPENDING");
    await eventually(async () => expect((await states(gw!)).get(name(4))).toBe(CredentialState.STANDBY));
    await callUntilJudged(gw!, 4);
    expect((await states(gw!)).get(name(4))).toBe(CredentialState.ACTIVE);
    expectNoSecretIn(gw!.logs.text);
  });
});
