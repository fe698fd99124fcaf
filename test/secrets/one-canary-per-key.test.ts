// One canary at a time per key (audit secrets #5): a second StageKey replacing
// a key whose canary is still on trial is refused with FailedPrecondition,
// before anything is stored, so one key is never replaced by two. Also
// StageKey's traffic_share "NaN" is InvalidArgument, not the default share.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { CANARY_ON_TRIAL } from "../../src/secrets/canary-on-trial.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { adminClient, credentialStates } from "./support/admin.js";

const name = (id: string) => `providers/openai/credentials/${id}`;

describe("StageKey: one canary at a time per key", () => {
  const dataDir = tempDir("sb-one-canary-");
  const env = { SWITCHBOARD_DATA_DIR: dataDir, OPENAI_API_KEY: "sk-first-0123456789", OPENAI_API_KEY_NEXT: "sk-next-0123456789", OPENAI_API_KEY_LATER: "sk-later-0123456789" };
  let gw: TestGateway | undefined;
  const states = () => credentialStates(gw!);
  const stage = (credentialId: string, secretRef: string) => adminClient(gw!).stageKey({ parent: "providers/openai", credentialId, secretRef, replaces: name("env") });

  beforeAll(async () => {
    gw = await startGateway(env);
  });
  afterAll(() => gw?.stop());

  it("refuses a second canary replacing the same key, naming the canary on trial", async () => {
    await stage("c4", "env:OPENAI_API_KEY_NEXT");
    const err = await failure(stage("c5", "env:OPENAI_API_KEY_LATER"));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(
      `${name("env")} already has a canary on trial (${name("c4")}): one canary at a time per key; promote it (PromoteKey) or roll it back (RollbackKey), then stage the next one`,
    );
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: CANARY_ON_TRIAL, metadata: { credential: name("c4"), replaces: name("env") } });
    expect(await states()).toEqual(new Map([[name("env"), CredentialState.ACTIVE], [name("c4"), CredentialState.STANDBY]]));
  });

  it("stored nothing of the refused stage: a restart restores the one canary only", async () => {
    await gw!.stop();
    gw = await startGateway(env);
    expect(await states()).toEqual(new Map([[name("env"), CredentialState.ACTIVE], [name("c4"), CredentialState.STANDBY]]));
  });

  it("stages the next one once the canary on trial is rolled back", async () => {
    await adminClient(gw!).rollbackKey({ name: name("c4"), reason: "try another" });
    await stage("c5", "env:OPENAI_API_KEY_LATER");
    expect((await states()).get(name("c5"))).toBe(CredentialState.STANDBY);
  });

  it("refuses traffic_share NaN (JSON \"NaN\") as InvalidArgument on traffic_share, not as the default share", async () => {
    const err = await failure(adminClient(gw!).stageKey({ parent: "providers/openai", credentialId: "c6", secretRef: "env:OPENAI_API_KEY_NEXT", trafficShare: Number.NaN }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => [violation.field, violation.description])).toEqual([
      ["traffic_share", "must be above 0 and at most 1 (0 for the default)"],
    ]);
    expect((await states()).has(name("c6"))).toBe(false);
  });
});
