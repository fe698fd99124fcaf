// Canary verdicts outlive the process: a gateway restarted after rolling back
// a Vault version keeps serving the last good one, and a version nobody has
// judged yet goes back on its canary share instead of taking all the traffic.
// Real OpenBao; the verdicts live in the gateway's store (SQLite here; the
// store's SQL runs on Postgres too: test/secrets/key-version-memory.test.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { calls, credentialStates, hello, requestsByKey } from "./support/admin.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";

describe("canary verdicts across a restart", () => {
  const mount = unique("sb-verdicts");
  const GOOD = `sk-good-${unique("k")}`;
  const BAD = `sk-revoked-${unique("k")}`;
  const NEXT = `sk-next-${unique("k")}`;
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;
  const dataDir = tempDir("sb-verdicts-");
  const accepted: string[] = [];
  let bao: BaoAdmin;
  let fake: OpenAIFake;
  let token: string;
  let gw: TestGateway | undefined;

  const start = () =>
    startGateway(
      { VAULT_ADDR: bao.addr, VAULT_TOKEN: token, SWITCHBOARD_DATA_DIR: dataDir },
      {
        providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_500, keys: [{ id: "primary", secret: `vault:${mount}/switchboard/openai#api_key`, weight: 1 }] } },
        secrets: { vault: { refresh_ms: 200 } },
        key_pool: { canary_share: 0.5, promote_after: 50 },
      },
    );
  const states = credentialStates;

  beforeAll(async () => {
    ({ bao, token } = await baoMountWithReadToken(mount, "switchboard-verdicts"));
    await bao.put(mount, "switchboard/openai", { api_key: GOOD });
    fake = await startOpenAIFake({ apiKey: GOOD, extraKeys: accepted });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("rolls back a version the vendor rejects", async () => {
    gw = await start();
    await bao.put(mount, "switchboard/openai", { api_key: BAD });
    await eventually(async () => expect((await states(gw!)).get(name(2))).toBe(CredentialState.STANDBY));
    // Without retries, a call the canary takes fails: that is its verdict.
    for (let i = 0; i < 200 && (await states(gw)).get(name(2)) === CredentialState.STANDBY; i++) await gw.client().chat(hello).catch(() => undefined);
    expect((await states(gw)).get(name(2))).toBe(CredentialState.RETIRED);
    await gw.stop();
    gw = undefined;
  });

  it("after a restart, serves the last good version, not the rolled-back latest, and does not stage it again", async () => {
    gw = await start();
    const after = await states(gw);
    expect([...after.keys()]).toEqual([name(1)]);
    expect(after.get(name(1))).toBe(CredentialState.ACTIVE);
    const from = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([GOOD]);
    expect(gw.logs.entries.some((e) => e.msg === "the latest version was rolled back earlier: serving the last good one" && e.latest === 2 && e.serving === 1)).toBe(true);
    // Watching goes on: a newer version is staged as usual.
    accepted.push(NEXT);
    await bao.put(mount, "switchboard/openai", { api_key: NEXT });
    await eventually(async () => expect((await states(gw!)).get(name(3))).toBe(CredentialState.STANDBY));
    await gw.stop();
    gw = undefined;
  });

  it("after a restart, puts a version still on trial back on its canary share, behind the last good one", async () => {
    gw = await start();
    const after = await states(gw);
    expect(after.get(name(1))).toBe(CredentialState.ACTIVE);
    expect(after.get(name(3))).toBe(CredentialState.STANDBY);
    expect(after.has(name(2))).toBe(false);
    const from = fake.requests.length;
    expect((await calls(gw, 40)).failed).toEqual([]);
    const byKey = requestsByKey(fake, from);
    expect(byKey.get(GOOD)).toBeGreaterThan(0);
    expect(byKey.get(NEXT)).toBeGreaterThan(0);
  });
});
