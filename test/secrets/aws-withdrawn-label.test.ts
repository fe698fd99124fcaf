// AWS labels decide which version serves, on a running gateway as on a
// restarted one (audit secrets #4): when the AWSPENDING label is taken off a
// version (a cancelled or rolled-back rotation), a running gateway goes back
// to the newest labelled version, as a gateway started afterwards does, so the
// instances of a fleet never serve different keys.
import { UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import type { TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { tempDir } from "../support/stores.js";
import { adminClient, credentials, credentialStates, hello } from "./support/admin.js";
import { AwsAdmin, awsEnv, startAwsKeyGateway } from "./support/aws.js";
import { eventually, unique } from "./support/bao.js";
import { keysServing } from "./support/traffic.js";

const vendorKey = (label: string) => `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

describe("a version whose AWSPENDING label is taken off", () => {
  const id = unique("switchboard/withdrawn");
  const K1 = vendorKey("aws-w1");
  const K2 = vendorKey("aws-w2");
  const K3 = vendorKey("aws-w3");
  const dataDir = tempDir("sb-aws-withdrawn-");
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;
  let aws: AwsAdmin;
  let env: Record<string, string>;
  let fake: OpenAIFake;
  let running: TestGateway | undefined;
  const versionIds: string[] = [];
  const states = credentialStates;
  const start = () => startAwsKeyGateway(env, dataDir, fake.baseUrl, id);
  const removePending = (versionId: string) => aws.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: "AWSPENDING", RemoveFromVersionId: versionId }));

  beforeAll(async () => {
    const endpoint = requireService("SWITCHBOARD_TEST_AWS_ENDPOINT");
    aws = new AwsAdmin(endpoint);
    env = awsEnv(endpoint);
    await aws.createSecret(id, JSON.stringify({ api_key: K1 }));
    fake = await startOpenAIFake({ apiKey: K1, extraKeys: [K2, K3] });
    running = await start();
  });
  afterAll(async () => {
    await running?.stop();
    await fake?.close();
    aws?.close();
  });

  it("after its promotion: the running gateway goes back to the AWSCURRENT version, and says so", async () => {
    versionIds[2] = await aws.putVersion(id, JSON.stringify({ api_key: K2 }), "AWSPENDING");
    await eventually(async () => expect((await states(running!)).get(name(2))).toBe(CredentialState.STANDBY));
    for (let i = 0; i < 300 && (await states(running!)).get(name(2)) === CredentialState.STANDBY; i++) await running!.client().chat(hello).catch(() => undefined);
    expect((await states(running!)).get(name(2))).toBe(CredentialState.ACTIVE);

    await removePending(versionIds[2]!);
    await eventually(async () => expect((await states(running!)).get(name(1))).toBe(CredentialState.ACTIVE));
    const after = (await credentials(adminClient(running!), "openai")).byName;
    expect(after.get(name(2))?.state).toBe(CredentialState.DRAINING);
    expect(after.get(name(1))?.stateReason).toBe(`its source serves this version again (aws-sm:${id}#api_key): it replaces "openai/primary@v2", as a restarted gateway would`);
    expect(await keysServing(running!, fake, 10)).toEqual([K1]);
    const logged = running!.logs.entries.map((entry) => entry.msg);
    expect(logged).toContain("version 2 is no longer labelled AWSCURRENT or AWSPENDING: the newest labelled version is 1 again, and the gateway goes back to it");
    expect(logged).toContain("the source serves an older version again (the newer one was withdrawn there): going back to it, as a restarted gateway would");
  });

  it("a gateway started now serves the same version as the running one did", async () => {
    await running!.stop();
    running = await start();
    expect((await states(running)).get(name(1))).toBe(CredentialState.ACTIVE);
    expect(await keysServing(running, fake, 10)).toEqual([K1]);
  });

  it("while on trial: the canary is withdrawn (no verdict), a restart agrees, and it is staged again once labelled again", async () => {
    versionIds[3] = await aws.putVersion(id, JSON.stringify({ api_key: K3 }), "AWSPENDING");
    await eventually(async () => expect((await states(running!)).get(name(3))).toBe(CredentialState.STANDBY));
    await removePending(versionIds[3]!);
    await eventually(async () => expect((await states(running!)).get(name(3))).toBe(CredentialState.RETIRED));
    expect((await states(running!)).get(name(1))).toBe(CredentialState.ACTIVE);
    await running!.stop();
    running = await start();
    expect([...(await states(running)).entries()]).toEqual([[name(1), CredentialState.ACTIVE]]);
    // Labelled again (the rotation resumes): a new canary, since no verdict was reached on it.
    await aws.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: "AWSPENDING", MoveToVersionId: versionIds[3] }));
    await eventually(async () => expect((await states(running!)).get(name(3))).toBe(CredentialState.STANDBY));
    expect(running!.logs.text).not.toContain(K3);
  });
});
