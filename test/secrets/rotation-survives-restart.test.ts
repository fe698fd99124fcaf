// A rotation made through the AdminService (StageKey, then PromoteKey,
// RollbackKey or the canary's own promotion) is kept in the gateway's store:
// a gateway started again on the same store serves the promoted key and never
// the key it replaced, forgets a rolled-back one, and starts all the same when
// a recorded key's secret can no longer be read, without putting back the keys
// that rotation retired. On SQLite and Postgres.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { UNRESTORED_ROTATION } from "../../src/secrets/provider-pools.js";
import { MASTER_KEY, type TestGateway } from "../support/gateway.js";
import { storeEnv, tempDir, type StoreKind } from "../support/stores.js";
import { adminClient, calls, credentialStates, requestsByKey } from "./support/admin.js";
import { startPrimaryAndBackupGateway } from "./support/env-key-gateways.js";

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;

describe.each<StoreKind>(["sqlite", "postgres"])("an admin API rotation across restarts, on %s", (kind) => {
  const PRIMARY = vendorKey("primary");
  const BACKUP = vendorKey("backup");
  const NEXT = vendorKey("next");
  const LATER = vendorKey("later");
  const WITHDRAWN = vendorKey("withdrawn");
  const secrets = [MASTER_KEY, PRIMARY, BACKUP, NEXT, LATER, WITHDRAWN];
  const dataDir = tempDir("sb-rotation-restart-");
  const name = (id: string) => `providers/openai/credentials/${id}`;
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let fake: OpenAIFake;
  let gw: TestGateway | undefined;

  /** The gateway on the same data directory and store; `keys` are the variables the staged references name. */
  const start = async (keys: Record<string, string>) => {
    await gw?.stop();
    gw = await startPrimaryAndBackupGateway(fake.baseUrl, { ...store.env, SWITCHBOARD_DATA_DIR: dataDir, OPENAI_API_KEY: PRIMARY, OPENAI_API_KEY_BACKUP: BACKUP, ...keys });
    return gw;
  };
  const states = () => credentialStates(gw!);
  /** The vendor keys the fake saw on `n` calls. */
  const keysSeen = async (n: number) => {
    const from = fake.requests.length;
    expect((await calls(gw!, n)).failed).toEqual([]);
    return new Set(requestsByKey(fake, from).keys());
  };

  beforeAll(async () => {
    store = await storeEnv(kind);
    fake = await startOpenAIFake({ apiKey: PRIMARY, extraKeys: [BACKUP, NEXT, LATER, WITHDRAWN] });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    await store?.drop();
  });

  it("after a restart, serves the promoted key and never the key it replaced", async () => {
    await start({ OPENAI_API_KEY_NEXT: NEXT });
    const admin = adminClient(gw!);
    await admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", replaces: name("backup"), trafficShare: 0.5 });
    await admin.promoteKey({ name: name("next") });
    expect(await states()).toEqual(
      new Map([
        [name("primary"), CredentialState.ACTIVE],
        [name("backup"), CredentialState.DRAINING],
        [name("next"), CredentialState.ACTIVE],
      ]),
    );

    await start({ OPENAI_API_KEY_NEXT: NEXT });
    expect(await states()).toEqual(
      new Map([
        [name("primary"), CredentialState.ACTIVE],
        [name("backup"), CredentialState.RETIRED],
        [name("next"), CredentialState.ACTIVE],
      ]),
    );
    expect(await keysSeen(30)).toEqual(new Set([PRIMARY, NEXT]));
  });

  it("forgets a rolled-back key, and keeps a canary's own promotion and what it retired, without the retired key's secret", async () => {
    await start({ OPENAI_API_KEY_NEXT: NEXT, OPENAI_API_KEY_LATER: LATER, OPENAI_API_KEY_WITHDRAWN: WITHDRAWN });
    const admin = adminClient(gw!);
    await admin.stageKey({ parent: "providers/openai", credentialId: "withdrawn", secretRef: "env:OPENAI_API_KEY_WITHDRAWN", trafficShare: 0.1 });
    await admin.rollbackKey({ name: name("withdrawn"), reason: "wrong project" });
    await admin.stageKey({ parent: "providers/openai", credentialId: "later", secretRef: "env:OPENAI_API_KEY_LATER", replaces: name("next"), trafficShare: 0.5, promoteAfter: 3 });
    for (let i = 0; i < 200 && (await states()).get(name("later")) === CredentialState.STANDBY; i++) await calls(gw!, 1);
    expect((await states()).get(name("later"))).toBe(CredentialState.ACTIVE);

    // The key "later" replaced, and the one withdrawn, can no longer be read: neither is needed.
    await start({ OPENAI_API_KEY_LATER: LATER });
    expect(await states()).toEqual(
      new Map([
        [name("primary"), CredentialState.ACTIVE],
        [name("backup"), CredentialState.RETIRED],
        [name("later"), CredentialState.ACTIVE],
      ]),
    );
    expect(gw!.logs.entries.filter((e) => e.msg === UNRESTORED_ROTATION)).toEqual([]);
    expect(await keysSeen(30)).toEqual(new Set([PRIMARY, LATER]));
  });

  it("starts when a recorded key's secret can no longer be read, says so without a secret, and keeps the key it retired out of service", async () => {
    await start({});
    expect(gw!.logs.entries.filter((e) => e.msg === UNRESTORED_ROTATION)).toMatchObject([
      { level: "warn", provider: "openai", credential: "later", source: "env:OPENAI_API_KEY_LATER", state: "promoted" },
    ]);
    expect(await states()).toEqual(
      new Map([
        [name("primary"), CredentialState.ACTIVE],
        [name("backup"), CredentialState.RETIRED],
      ]),
    );
    const health = (await (await fetch(`${gw!.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
    expect(health.status).toBe("degraded");
    expect(health.dependencies.key_rotations).toContain('openai: "later"');
    expect(await keysSeen(4)).toEqual(new Set([PRIMARY]));
    for (const secret of secrets) expect(gw!.logs.text).not.toContain(secret);
  });
});
