// An AWS endpoint that accepts connections and never answers (a black-holing
// VPC endpoint, a stuck proxy): every AWS call gives up at its deadline
// (secrets.aws.timeout_ms per attempt, three attempts), so the start stops
// naming the reference, a poll that hangs counts the source as down, StageKey
// answers, and a write with the AWS KMS key-encryption key answers
// Unavailable. The timeouts are small; no test measures how long anything takes.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { addressOf, tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { adminClient } from "./support/admin.js";
import { AwsAdmin, awsEnv } from "./support/aws.js";
import { eventually, unique } from "./support/bao.js";

const VENDOR_KEY = `sk-aws-hang-${Math.random().toString(36).slice(2)}`;
const NOWHERE = "http://127.0.0.1:9/v1";

async function health(gw: TestGateway): Promise<{ status: string; dependencies: Record<string, string> }> {
  return (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
}

describe("AWS accepting connections and never answering", () => {
  let silent: FakeServer;

  beforeAll(async () => {
    // Takes each request and never answers it.
    silent = await startFakeServer(() => undefined);
  });
  afterAll(async () => {
    await silent?.close();
  });

  it("stops the start with the reference and a timeout, then closes its requests", async () => {
    const env = awsEnv(silent.origin);
    const err = await startGateway(env, {
      providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: "aws-sm:switchboard/openai#api_key", weight: 1 }] } },
      secrets: { aws: { timeout_ms: 200 } },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("aws-sm: aws-sm:switchboard/openai#api_key: AWS DescribeSecret switchboard/openai failed: AWS unreachable: timed out");
    expect(`${(err as Error).stack}`).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    // Each attempt was given up, not left open.
    expect(silent.requests.length).toBeGreaterThan(0);
    await eventually(() => expect(silent.abandoned.length).toBe(silent.requests.length));
  }, 30_000);

  it("answers a write with the AWS KMS key-encryption key Unavailable, with ErrorInfo", async () => {
    const env: Record<string, string> = { ...awsEnv(silent.origin), SWITCHBOARD_SECRET_KEK: "aws-kms", SWITCHBOARD_KMS_KEY_ID: "alias/switchboard", OPENAI_KEY: VENDOR_KEY };
    const gw = await startGateway(env, {
      providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: "env:OPENAI_KEY", weight: 1 }] } },
      secrets: { aws: { timeout_ms: 200 } },
    });
    try {
      const err = await failure(adminClient(gw).createStoredSecret({ secretId: unique("hang-kms"), value: `sk-stored-${Math.random().toString(36).slice(2)}` }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/^the key-encryption key refused: AWS KMS \w+ with alias\/switchboard failed: AWS unreachable: timed out$/);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBeTruthy();
      expect(gw.logs.text).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});

describe("AWS going silent mid-run (a stalled connection to moto)", () => {
  let proxy: TcpProxy;
  let env: Record<string, string>;
  let gw: TestGateway;
  const secretName = unique("switchboard/hang");

  beforeAll(async () => {
    const moto = requireService("SWITCHBOARD_TEST_AWS_ENDPOINT");
    const aws = new AwsAdmin(moto);
    await aws.createSecret(secretName, JSON.stringify({ api_key: VENDOR_KEY }));
    aws.close();
    proxy = await tcpProxy(addressOf(moto));
    await proxy.open();
    env = awsEnv(`http://127.0.0.1:${proxy.port}`);
    gw = await startGateway(env, {
      providers: { openai: { base_url: NOWHERE, keys: [{ id: "primary", secret: `aws-sm:${secretName}#api_key`, weight: 1 }] } },
      secrets: { aws: { refresh_ms: 200, timeout_ms: 300 } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await proxy?.close();
  });

  it("counts a poll that hangs as the source being down, answers StageKey, and recovers", async () => {
    expect((await health(gw)).dependencies["aws-sm"]).toBe("ok");
    proxy.stall();

    await eventually(async () => {
      const body = await health(gw);
      expect(body.status).toBe("degraded");
      expect(body.dependencies["aws-sm"]).toBe("degraded: serving the last known secrets (unreachable)");
    }, 15_000);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toContain('switchboard_secret_source_up{source="aws-sm"} 0');
    const logged = gw.logs.entries.find((e) => e.msg === "AWS Secrets Manager cannot be read: serving the last known secrets");
    expect(String(logged?.error)).toMatch(/^AWS \w+ .+ failed: AWS unreachable: timed out$/);

    // A reference with nothing cached reads AWS at once: the answer comes at the deadline, as Vault's does.
    const other = unique("switchboard/hang-other");
    const err = await failure(adminClient(gw).stageKey({ parent: "providers/openai", credentialId: "next", secretRef: `aws-sm:${other}#api_key` }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(`cannot read the secret: aws-sm: aws-sm:${other}#api_key: AWS DescribeSecret ${other} failed: AWS unreachable: timed out`);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBeTruthy();

    proxy.resume();
    await eventually(async () => expect((await health(gw)).dependencies["aws-sm"]).toBe("ok"), 15_000);
    expect(gw.logs.entries.some((e) => e.msg === "AWS Secrets Manager can be read again")).toBe(true);
    for (const secret of [VENDOR_KEY, env.AWS_SECRET_ACCESS_KEY!, MASTER_KEY]) expect(gw.logs.text).not.toContain(secret);
  }, 60_000);
});
