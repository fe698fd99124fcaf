// AWS Secrets Manager going away while the gateway serves (no call fails,
// health says degraded), and AWS refusing the gateway's credentials (a clear
// error without the secret access key). Private moto servers: one is
// stopped, the other checks every request's credentials.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { startMoto, type RunningService } from "../support/services.js";
import { adminClient, credentials } from "./support/admin.js";
import { AwsAdmin, awsEnv } from "./support/aws.js";
import { eventually } from "./support/bao.js";
import { underLoad } from "./support/traffic.js";

const VENDOR_KEY = `sk-aws-outage-${Math.random().toString(36).slice(2)}`;

describe("AWS Secrets Manager stopped mid-run", () => {
  let moto: RunningService;
  let env: Record<string, string>;
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    moto = await startMoto();
    const endpoint = moto.env.SWITCHBOARD_TEST_AWS_ENDPOINT!;
    const aws = new AwsAdmin(endpoint);
    await aws.createSecret("switchboard/openai", JSON.stringify({ api_key: VENDOR_KEY }));
    aws.close();
    env = awsEnv(endpoint);
    fake = await startOpenAIFake({ apiKey: VENDOR_KEY });
    gw = await startGateway(env, {
      providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "aws-sm:switchboard/openai#api_key", weight: 1 }] } },
      secrets: { aws: { refresh_ms: 200, timeout_ms: 500 } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    await moto?.stop();
  });

  it("fails no call, keeps the last known key, and reports degraded health", async () => {
    expect(((await (await fetch(`${gw.url}/healthz`)).json()) as { dependencies: Record<string, string> }).dependencies["aws-sm"]).toBe("ok");
    const { failed } = await underLoad(gw, async () => {
      await moto.stop();
      await eventually(async () => {
        const body = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
        expect(body.status).toBe("degraded");
        // The cause in a few words: /healthz needs no key.
        expect(body.dependencies["aws-sm"]).toBe("degraded: serving the last known secrets (unreachable)");
      }, 10_000);
    });

    expect(failed).toEqual([]);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('switchboard_secret_source_up{source="aws-sm"} 0');
    expect((await credentials(adminClient(gw), "openai")).byName.get("providers/openai/credentials/primary@v1")?.state).toBe(CredentialState.ACTIVE);
    const logged = gw.logs.entries.find((e) => e.msg === "AWS Secrets Manager cannot be read: serving the last known secrets");
    expect(String(logged?.error)).toMatch(/^AWS DescribeSecret switchboard\/openai failed: AWS unreachable: /);
    for (const secret of [VENDOR_KEY, env.AWS_SECRET_ACCESS_KEY!, MASTER_KEY]) {
      expect(gw.logs.text).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
  }, 40_000);
});

describe("AWS refusing the gateway's credentials", () => {
  let moto: RunningService;

  beforeAll(async () => {
    // moto checks credentials against its IAM users from the first request on: the test's keys are nobody's.
    moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: "0" } });
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it("stops the start with the reference and AWS's refusal, never the secret access key", async () => {
    const env = awsEnv(moto.env.SWITCHBOARD_TEST_AWS_ENDPOINT!);
    const err = await startGateway(env, {
      providers: { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ id: "primary", secret: "aws-sm:switchboard/openai#api_key", weight: 1 }] } },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    // Real AWS answers "UnrecognizedClientException (HTTP 403): The security token included in the request is invalid.";
    // moto answers that in XML, which the JSON protocol cannot read: the status is what is left.
    expect((err as Error).message).toBe(
      "aws-sm: aws-sm:switchboard/openai#api_key: AWS DescribeSecret switchboard/openai failed: HTTP 403 (the request was refused: check the AWS credentials and the IAM policy)",
    );
    const everything = `${String(err)}\n${JSON.stringify(err)}\n${(err as Error).stack}`;
    expect(everything).not.toContain(env.AWS_SECRET_ACCESS_KEY);
  }, 30_000);
});
