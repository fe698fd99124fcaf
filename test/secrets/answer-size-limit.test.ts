// Answers from secret stores are read up to 1 MiB (src/secrets/answer-size-limit.ts):
// a fake Vault and a fake AWS answer 64 MiB of valid JSON, and the gateway
// stops reading at the limit with an error naming the source, instead of
// buffering it all (again at every refresh). An AWS listing that always
// hands out another page is read for 10 pages at most.
import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { KekError } from "../../src/secrets/kek.js";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { startGateway } from "../support/gateway.js";
import { awsEnv } from "./support/aws.js";

const VENDOR_KEY = `sk-size-${Math.random().toString(36).slice(2)}`;
const HUGE = 64 * 1024 * 1024;
const NOWHERE = "http://127.0.0.1:9/v1";
const TOO_LARGE = "the answer is larger than 1 MiB, the most the gateway reads of one answer from a secret store";

/**
 * Answers `prefix`, then padding, then `suffix`: HUGE bytes of valid JSON,
 * written as fast as the client reads. Resolves to the bytes written when the
 * answer ended or the client went away.
 */
async function oversized(res: ServerResponse, prefix: string, suffix: string): Promise<number> {
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.alloc(64 * 1024, "x");
  let sent = 0;
  const write = (data: string | Buffer) => {
    sent += Buffer.byteLength(data);
    return res.write(data);
  };
  write(prefix);
  while (sent < HUGE - suffix.length && !res.destroyed) {
    if (!write(chunk)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end(suffix);
  return sent;
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

describe("Vault answers larger than 1 MiB", () => {
  let vault: FakeServer;
  /** Bytes written of each oversized answer. */
  const sent: Promise<number>[] = [];

  beforeAll(async () => {
    vault = await startFakeServer((req, res) => {
      if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: 0, renewable: false } });
      if (req.path.startsWith("/v1/secret/data/")) {
        sent.push(oversized(res, `{"data":{"data":{"api_key":"${VENDOR_KEY}"},"metadata":{"version":1}},"pad":"`, '"}'));
        return;
      }
      if (req.path.startsWith("/v1/transit/encrypt/")) {
        sent.push(oversized(res, '{"data":{"ciphertext":"vault:v1:AAAA"},"pad":"', '"}'));
        return;
      }
      sendJson(res, 404, { errors: [] });
    });
  });
  afterAll(async () => {
    await vault?.close();
  });

  it("stops the start at a KV read, naming the reference and the limit", async () => {
    sent.length = 0;
    const err = await startGateway(
      { VAULT_ADDR: vault.origin, VAULT_TOKEN: "hvs.size-limit-test-token-000000" },
      {
        providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: "vault:secret/switchboard/openai#api_key", weight: 1 }] } },
        secrets: { vault: { timeout_ms: 20_000 } },
      },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`vault: vault:secret/switchboard/openai#api_key: Vault read secret/switchboard/openai failed: ${TOO_LARGE}`);
    // Reading stopped at the limit: the rest of the answer was never taken.
    for (const bytes of await Promise.all(sent)) expect(bytes).toBeLessThan(HUGE);
  }, 30_000);

  it("refuses a Transit answer, as a key-encryption key failure that retrying does not fix", async () => {
    sent.length = 0;
    const client = new VaultClient({ address: vault.origin, auth: { method: "token", token: "hvs.size-limit-test-token-000000" }, timeoutMs: 20_000, logger: pino({ level: "silent" }) });
    const kek = new TransitKek(client, { address: vault.origin, mount: "transit", key: "switchboard", timeoutMs: 20_000 });
    const err = await kek.wrap(Buffer.alloc(32)).catch((e: Error) => e);
    client.close();
    expect(err).toBeInstanceOf(KekError);
    expect((err as KekError).message).toBe(`Vault transit encrypt with transit/switchboard failed: ${TOO_LARGE}`);
    expect((err as KekError).unreachable).toBe(false);
    for (const bytes of await Promise.all(sent)) expect(bytes).toBeLessThan(HUGE);
  }, 30_000);
});

describe("AWS answers larger than 1 MiB, and listings without end", () => {
  let aws: FakeServer;
  const sent: Promise<number>[] = [];
  let listings = 0;

  beforeAll(async () => {
    aws = await startFakeServer((req, res) => {
      const operation = String(req.headers["x-amz-target"]).split(".")[1];
      const secretId = (req.body as { SecretId: string }).SecretId;
      const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`;
      const reply = (body: unknown) => sendJson(res, 200, body, { "content-type": "application/x-amz-json-1.1" });
      switch (operation) {
        case "DescribeSecret":
          return reply({ ARN: arn, Name: secretId, VersionIdsToStages: { "v-1": ["AWSCURRENT"] } });
        case "ListSecretVersionIds":
          listings++;
          // The endless secret always has another page.
          return reply({ ARN: arn, Name: secretId, Versions: [{ VersionId: "v-1", VersionStages: ["AWSCURRENT"], CreatedDate: 1_700_000_000 }], ...(secretId === "endless" ? { NextToken: `page-${listings}` } : {}) });
        case "GetSecretValue": {
          const secretString = JSON.stringify(JSON.stringify({ api_key: VENDOR_KEY }));
          sent.push(oversized(res, `{"ARN":"${arn}","Name":"${secretId}","VersionId":"v-1","SecretString":${secretString},"Pad":"`, '"}'));
          return;
        }
      }
      sendJson(res, 400, { __type: "InvalidRequestException", message: "unknown operation" });
    });
  });
  afterAll(async () => {
    await aws?.close();
  });

  it("stops the start at GetSecretValue, naming the reference and the limit", async () => {
    const err = await startGateway(awsEnv(aws.origin), {
      providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: "aws-sm:big#api_key", weight: 1 }] } },
      secrets: { aws: { timeout_ms: 20_000 } },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`aws-sm: aws-sm:big#api_key: AWS GetSecretValue big v1 failed: ${TOO_LARGE}`);
    expect(sent.length).toBeGreaterThan(0);
    for (const bytes of await Promise.all(sent)) expect(bytes).toBeLessThan(HUGE);
  }, 30_000);

  it("reads at most 10 pages of versions", async () => {
    listings = 0;
    const err = await startGateway(awsEnv(aws.origin), {
      providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: "aws-sm:endless#api_key", weight: 1 }] } },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("aws-sm: aws-sm:endless#api_key: AWS ListSecretVersionIds endless failed: more than 10 pages of versions, the most the gateway reads");
    expect(listings).toBe(10);
  }, 30_000);
});
