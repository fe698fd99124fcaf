// A restart re-applies the rotations recorded before it, and says so: the keys' state changes
// read "restored from a rotation recorded before this start" with the verdict recorded then
// (a canary's own promotion stays automatic, an operator's names the operator), their log lines
// carry cause `restored`, and switchboard_key_transitions_total counts none of them: a deploy is
// no key rotation on the dashboards and alerts that sum the causes.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import type { TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { adminClient, calls, credentials } from "./support/admin.js";
import { startPrimaryAndBackupGateway } from "./support/env-key-gateways.js";

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;
const RESTORED = "restored from a rotation recorded before this start: ";

describe("rotations re-applied at start", () => {
  const PRIMARY = vendorKey("primary");
  const BACKUP = vendorKey("backup");
  const NEXT = vendorKey("next");
  const LATER = vendorKey("later");
  const dataDir = tempDir("sb-restored-rotations-");
  const name = (id: string) => `providers/openai/credentials/${id}`;
  let fake: OpenAIFake;
  let gw: TestGateway | undefined;

  const start = async () => {
    await gw?.stop();
    gw = await startPrimaryAndBackupGateway(fake.baseUrl, {
      SWITCHBOARD_DATA_DIR: dataDir,
      OPENAI_API_KEY: PRIMARY,
      OPENAI_API_KEY_BACKUP: BACKUP,
      OPENAI_API_KEY_NEXT: NEXT,
      OPENAI_API_KEY_LATER: LATER,
    });
    return gw;
  };
  const listed = async () => (await credentials(adminClient(gw!), "openai")).byName;
  /** The transitions this process counted, as "from>to cause" → count. */
  const transitions = async () => {
    const text = await (await fetch(`${gw!.url}/metrics`)).text();
    const counted = text.split("\n").filter((line) => line.startsWith("switchboard_key_transitions_total{") && !line.endsWith(" 0"));
    return counted.map((line) => line.replace(/^switchboard_key_transitions_total\{provider="openai",/, ""));
  };
  const stateChanges = () => gw!.logs.entries.filter((e) => e.msg === "key state changed");

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: PRIMARY, extraKeys: [BACKUP, NEXT, LATER] });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("keeps an automatic promotion automatic and an operator's the operator's, counting nothing at start", async () => {
    await start();
    const admin = adminClient(gw!);
    await admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", replaces: name("primary"), trafficShare: 0.5, promoteAfter: 3 });
    for (let i = 0; i < 200 && (await listed()).get(name("next"))?.state === CredentialState.STANDBY; i++) await calls(gw!, 1);
    const auto = (await listed()).get(name("next"))!;
    expect(auto.state).toBe(CredentialState.ACTIVE);
    expect(auto.stateReason).toMatch(/^promoted automatically: /);
    await admin.stageKey({ parent: "providers/openai", credentialId: "later", secretRef: "env:OPENAI_API_KEY_LATER", replaces: name("backup"), trafficShare: 0.1 });
    const byOperator = (await admin.promoteKey({ name: name("later") })).credential!.stateReason;
    expect(byOperator).toMatch(/^promoted by /);

    await start();
    const after = await listed();
    expect(after.get(name("next"))).toMatchObject({ state: CredentialState.ACTIVE, stateReason: RESTORED + auto.stateReason });
    expect(after.get(name("later"))).toMatchObject({ state: CredentialState.ACTIVE, stateReason: RESTORED + byOperator });
    expect(after.get(name("primary"))).toMatchObject({ state: CredentialState.RETIRED, stateReason: `${RESTORED}replaced by "openai/next"` });
    // Staged, promoted, and the keys they replaced drained and retired: each of them restored.
    expect(stateChanges()).toHaveLength(8);
    expect(new Set(stateChanges().map((e) => e.cause))).toEqual(new Set(["restored"]));
    expect(stateChanges().find((e) => e.credential === "openai/next" && e.to === "active")).toMatchObject({ reason: RESTORED + auto.stateReason });
    expect(gw!.logs.text).not.toContain("promoted by an operator");
    expect(await transitions()).toEqual([]);
  });

  it("says the same after another restart: the restored verdicts are not recorded as new ones", async () => {
    const before = await listed();
    await start();
    const after = await listed();
    for (const id of ["next", "later", "primary", "backup"]) expect(after.get(name(id))?.stateReason).toBe(before.get(name(id))?.stateReason);
    expect(await transitions()).toEqual([]);
    // Calls after the start count as usual.
    expect((await calls(gw!, 3)).failed).toEqual([]);
  });
});
