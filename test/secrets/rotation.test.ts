// Key pools in a real gateway: Vault versions staged as canaries (real
// OpenBao), canary share and promotion, rollback of a failing canary, 429
// cool-downs, credential rejections, and the AdminService that runs them.
import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { failure } from "../support/failure.js";
import { adminClient, calls, credentials, hello, requestsByKey } from "./support/admin.js";
import { BaoAdmin, eventually, unique } from "./support/bao.js";
import { keysFromEnv } from "./support/env-key-gateways.js";

/** Every secret this file uses: none may show up in a log line, an error or an admin answer. */
const secrets: string[] = [MASTER_KEY];
const secret = (label: string) => {
  const value = `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  secrets.push(value);
  return value;
};
const scanned: string[] = [];
function expectNoSecrets(...texts: string[]): void {
  scanned.push(...texts);
  const all = texts.join("\n");
  for (const value of secrets) expect(all).not.toContain(value);
}

describe("Vault versions become canaries", () => {
  const mount = unique("sb-rotation");
  const approle = unique("approle");
  const K1 = secret("v1");
  const K2 = secret("v2");
  const BAD = secret("revoked");
  const accepted: string[] = [];
  let bao: BaoAdmin;
  let fake: OpenAIFake;
  let gw: TestGateway;
  const ref = () => `vault:${mount}/switchboard/openai#api_key`;
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;

  beforeAll(async () => {
    bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
    secrets.push(bao.rootToken);
    await bao.enableKv(mount);
    await bao.readPolicy("switchboard-rotation", mount, "switchboard");
    await bao.enableAppRole(approle);
    const { roleId, secretId } = await bao.appRole(approle, "gateway", { token_policies: ["switchboard-rotation"], token_ttl: "1h" });
    secrets.push(roleId, secretId);
    await bao.put(mount, "switchboard/openai", { api_key: K1 });
    fake = await startOpenAIFake({ apiKey: K1, extraKeys: accepted });
    gw = await startGateway(
      { VAULT_ADDR: bao.addr, VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId, VAULT_APPROLE_MOUNT: approle },
      {
        providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_500, keys: [{ id: "primary", secret: ref(), weight: 1 }] } },
        secrets: { vault: { refresh_ms: 200 } },
        key_pool: { canary_share: 0.3, promote_after: 5 },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("starts with the key Vault holds, named by its version", async () => {
    const { byName, json } = await credentials(adminClient(gw), "openai");
    expect([...byName.keys()]).toEqual([name(1)]);
    const primary = byName.get(name(1))!;
    expect(primary).toMatchObject({ state: CredentialState.ACTIVE, version: 1n, secretRef: ref(), weight: 1, trafficShare: 1 });
    expect(primary.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expectNoSecrets(json);
  });

  it("stages a new version on its share, promotes it after N good calls; the old key drains, then retires", async () => {
    accepted.push(K2);
    await bao.put(mount, "switchboard/openai", { api_key: K2 });
    const admin = adminClient(gw);
    const staged = await eventually(async () => {
      const canary = (await credentials(admin, "openai")).byName.get(name(2));
      expect(canary?.state).toBe(CredentialState.STANDBY);
      return canary!;
    });
    expect(staged.trafficShare).toBeCloseTo(0.3);
    expect(staged.canary).toMatchObject({ trafficShare: 0.3, promoteAfter: 5n, replaces: name(1) });

    const from = fake.requests.length;
    let made = 0;
    while ((await credentials(admin, "openai")).byName.get(name(2))!.state === CredentialState.STANDBY && made < 300) {
      await gw.client().chat(hello);
      made++;
    }
    const promoted = (await credentials(admin, "openai")).byName;
    expect(promoted.get(name(2))).toMatchObject({ state: CredentialState.ACTIVE, trafficShare: 1 });
    expect(promoted.get(name(2))!.stateReason).toMatch(/^promoted automatically: 5 successful calls/);
    expect(promoted.get(name(1))).toMatchObject({ state: CredentialState.DRAINING, trafficShare: 0 });
    expect(requestsByKey(fake, from).get(K2)).toBe(5);

    const after = fake.requests.length;
    expect((await calls(gw, 10)).failed).toEqual([]);
    expect([...requestsByKey(fake, after).keys()]).toEqual([K2]);
    await eventually(async () => expect((await credentials(admin, "openai")).byName.get(name(1))!.state).toBe(CredentialState.RETIRED), 5_000);
  });

  it("rolls back a version the vendor rejects; the active key keeps serving", async () => {
    await bao.put(mount, "switchboard/openai", { api_key: BAD });
    const admin = adminClient(gw);
    await eventually(async () => expect((await credentials(admin, "openai")).byName.get(name(3))?.state).toBe(CredentialState.STANDBY));
    for (let i = 0; i < 300 && (await credentials(admin, "openai")).byName.get(name(3))!.state === CredentialState.STANDBY; i++) {
      await gw.client().chat(hello).catch(() => undefined); // without retries, the canary's one call fails
    }
    const rolledBack = (await credentials(admin, "openai")).byName.get(name(3))!;
    expect(rolledBack.state).toBe(CredentialState.RETIRED);
    expect(rolledBack.stateReason).toBe("canary failed: rejected by the vendor (HTTP 401, invalid_api_key)");
    expect((await credentials(admin, "openai")).byName.get(name(2))!.state).toBe(CredentialState.ACTIVE);

    const from = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([K2]);
    expect(gw.logs.entries.some((e) => e.msg === "key state changed" && e.credential === "openai/primary@v3" && e.cause === "auto_rolled_back")).toBe(true);
  });

  it("stages nothing when the operator writes the active key back (`bao kv rollback`)", async () => {
    await bao.put(mount, "switchboard/openai", { api_key: K2 });
    await eventually(() => expect(gw.logs.entries.some((e) => e.msg.startsWith("the new version holds the key already in use") && e.version === 4)).toBe(true));
    expect((await credentials(adminClient(gw), "openai")).byName.has(name(4))).toBe(false);
  });

  it("keeps every token, role id, secret id and vendor key out of logs and answers", () => {
    expect(gw.logs.lines.length).toBeGreaterThan(10);
    expectNoSecrets(gw.logs.text);
  });
});

describe("admin calls run the rotation", () => {
  const A = secret("primary");
  const STAGED = secret("staged");
  const OTHER = secret("other");
  let fake: OpenAIFake;
  let gw: TestGateway;
  const primary = "providers/openai/credentials/primary";
  const next = "providers/openai/credentials/next";

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: A, extraKeys: [STAGED, OTHER] });
    gw = await startGateway(
      { KEY_A: A, OPENAI_KEY_STAGED: STAGED, OPENAI_KEY_OTHER: OTHER },
      { providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_000, keys: keysFromEnv({ primary: "KEY_A" }) } } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("need the master key: no key or a wrong one is Unauthenticated", async () => {
    for (const key of [null, "sk-not-the-master-key"]) {
      const err = await failure(adminClient(gw, key).listProviders({}));
      expect(err.code).toBe(Code.Unauthenticated);
    }
    // Non-admin gateway keys get PermissionDenied from the auth interceptor (test/api/auth.test.ts covers the check).
  });

  it("StageKey puts a key on its traffic share; PromoteKey makes it active and drains the old one", async () => {
    const admin = adminClient(gw);
    const staged = await admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_KEY_STAGED", replaces: primary, trafficShare: 0.2, promoteAfter: 100_000 });
    expect(staged.credential).toMatchObject({ name: next, state: CredentialState.STANDBY, secretRef: "env:OPENAI_KEY_STAGED", trafficShare: 0.2 });
    expect(staged.credential!.canary).toMatchObject({ replaces: primary, promoteAfter: 100_000n });

    const from = fake.requests.length;
    expect((await calls(gw, 300)).failed).toEqual([]);
    const share = (requestsByKey(fake, from).get(STAGED) ?? 0) / 300;
    // 300 draws at 0.2 land outside these bounds about once in 100 million runs.
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.35);
    const listed = (await credentials(admin, "openai")).byName.get(next)!;
    expect(Number(listed.recentSuccesses)).toBe(requestsByKey(fake, from).get(STAGED));
    expect(listed.canary!.successes).toBe(listed.recentSuccesses);

    const promoted = await admin.promoteKey({ name: next });
    expect(promoted.credential).toMatchObject({ name: next, state: CredentialState.ACTIVE });
    expect(promoted.replaced).toMatchObject({ name: primary, state: CredentialState.DRAINING });
    expect(timestampMs(promoted.replaced!.nextTransitionTime!) - Date.now()).toBeLessThanOrEqual(1_000);
    const after = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, after).keys()]).toEqual([STAGED]);
  });

  it("RollbackKey withdraws a canary; DisableKey takes a key out for good", async () => {
    const admin = adminClient(gw);
    await admin.stageKey({ parent: "providers/openai", credentialId: "other", secretRef: "env:OPENAI_KEY_OTHER" });
    const rolledBack = await admin.rollbackKey({ name: "providers/openai/credentials/other", reason: "wrong project" });
    expect(rolledBack.credential).toMatchObject({ state: CredentialState.RETIRED, stateReason: 'rolled back by "master": wrong project' });

    const disabled = await admin.disableKey({ name: next, reason: "leaked" });
    expect(disabled.credential).toMatchObject({ state: CredentialState.DISABLED, stateReason: 'disabled by "master": leaked' });
    const err = await failure(gw.client().chat(hello));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/^provider "openai" has no usable key right now \(.*1 disabled by an operator.*\): operators disabled or rotated out every key, the vendor rejected none; stage one with AdminService\.StageKey$/);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "NO_PROVIDER_AVAILABLE", metadata: { provider: "openai" } });
    expect(gw.logs.entries.some((e) => e.msg === "admin disabled a key" && e.actor === "master" && e.credential === "openai/next")).toBe(true);
  });

  it("answer mistakes with the code and the field to fix", async () => {
    const admin = adminClient(gw);
    const raw = await failure(admin.stageKey({ parent: "providers/openai", credentialId: "raw", secretRef: OTHER }));
    expect(raw.code).toBe(Code.InvalidArgument);
    expect(raw.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("secret_ref");
    expect((await failure(admin.stageKey({ parent: "providers/nope", credentialId: "x", secretRef: "env:OPENAI_KEY_OTHER" }))).code).toBe(Code.NotFound);
    expect((await failure(admin.stageKey({ parent: "providers/openai", credentialId: "x", secretRef: "env:OPENAI_KEY_NOT_SET_ANYWHERE" }))).code).toBe(Code.FailedPrecondition);
    // The disabled key's secret may be staged again (the way a disabled key comes back); a secret a live key holds may not.
    await admin.stageKey({ parent: "providers/openai", credentialId: "again", secretRef: "env:OPENAI_KEY_STAGED" });
    expect((await failure(admin.stageKey({ parent: "providers/openai", credentialId: "again-2", secretRef: "env:OPENAI_KEY_STAGED" }))).code).toBe(Code.AlreadyExists);
    expect((await failure(admin.promoteKey({ name: primary }))).code).toBe(Code.FailedPrecondition);
    expect((await failure(admin.disableKey({ name: "providers/openai/credentials/ghost" }))).code).toBe(Code.NotFound);
    expect((await failure(admin.rollbackKey({ name: "openai/next" }))).code).toBe(Code.InvalidArgument);
    expectNoSecrets(raw.message);
  });

  it("keeps every vendor key out of logs and answers", async () => {
    expectNoSecrets(gw.logs.text, (await credentials(adminClient(gw), "openai")).json);
  });
});

describe("a 429 cools a key down; a rejected key is disabled", () => {
  const A = secret("a");
  const B = secret("b");
  const accepted = [B];
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: A, extraKeys: accepted });
    gw = await startGateway(
      { KEY_A: A, KEY_B: B },
      {
        providers: { openai: { base_url: fake.baseUrl, keys: keysFromEnv({ a: "KEY_A", b: "KEY_B" }) } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("a 429 takes the key out of rotation for the vendor's retry-after; the other key takes the traffic", async () => {
    const from = fake.requests.length;
    fake.enqueue({ kind: "error", status: 429, headers: { "retry-after": "2" }, body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } } });
    await gw.client().chat(hello).catch(() => undefined); // answered by the other key when the dispatcher retries
    const limitedKey = (fake.requests[from]!.headers.authorization ?? "").replace("Bearer ", "");
    const limited = limitedKey === A ? "a" : "b";
    const other = limited === "a" ? B : A;
    const listed = (await credentials(adminClient(gw), "openai")).byName.get(`providers/openai/credentials/${limited}`)!;
    expect(listed.state).toBe(CredentialState.COOLING_DOWN);
    expect(listed.stateReason).toMatch(/^rate limited by the vendor; back in 2s$/);
    const resumeIn = timestampMs(listed.nextTransitionTime!) - Date.now();
    expect(resumeIn).toBeGreaterThan(0);
    expect(resumeIn).toBeLessThanOrEqual(2_000);

    const during = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, during).keys()]).toEqual([other]);

    await new Promise((resolve) => setTimeout(resolve, resumeIn + 50));
    const back = fake.requests.length;
    expect((await calls(gw, 40)).failed).toEqual([]);
    expect(requestsByKey(fake, back).get(limitedKey)).toBeGreaterThan(0);
  });

  it("a credential rejection disables the key, logs it and counts it; the other key carries on", async () => {
    accepted.splice(0); // the vendor revokes B
    for (let i = 0; i < 50 && !gw.logs.entries.some((e) => e.msg === "the vendor rejected a key"); i++) await gw.client().chat(hello).catch(() => undefined);
    const b = (await credentials(adminClient(gw), "openai")).byName.get("providers/openai/credentials/b")!;
    expect(b.state).toBe(CredentialState.DISABLED);
    expect(b.stateReason).toMatch(/^rejected by the vendor \(HTTP 401, invalid_api_key\); probed again in 1 min$/);
    expect(gw.logs.entries.find((e) => e.msg === "the vendor rejected a key")).toMatchObject({ credential: "openai/b", status: 401 });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_key_credential_rejections_total\{provider="openai",credential="openai\/b"\} 1/);
    expect(metrics).toMatch(/switchboard_key_transitions_total\{provider="openai",from="active",to="disabled",cause="credential_rejected"\} 1/);
    expect(metrics).toMatch(/switchboard_keys\{provider="openai",state="disabled"\} 1/);

    const from = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([A]);
    expectNoSecrets(gw.logs.text, metrics);
  });
});

describe("Gemini's API_KEY_INVALID", () => {
  const GOOD = secret("gemini-good");
  const WRONG = secret("gemini-wrong");
  let fake: GeminiFake;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startGeminiFake({ apiKey: GOOD });
    gw = await startGateway(
      { G_GOOD: GOOD, G_WRONG: WRONG },
      {
        providers: { gemini: { base_url: `${fake.origin}/v1beta`, keys: keysFromEnv({ good: "G_GOOD", wrong: "G_WRONG" }) } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("disables the key Google rejects with a 400", async () => {
    const request = { model: "gemini-2.5-flash", messages: [{ role: Role.USER, content: "hi" }] };
    for (let i = 0; i < 50 && !gw.logs.entries.some((e) => e.msg === "the vendor rejected a key"); i++) await gw.client().chat(request).catch(() => undefined);
    const wrong = (await credentials(adminClient(gw), "gemini")).byName.get("providers/gemini/credentials/wrong")!;
    expect(wrong.state).toBe(CredentialState.DISABLED);
    expect(wrong.stateReason).toContain("rejected by the vendor (HTTP 400");
    for (let i = 0; i < 10; i++) expect((await gw.client().chat(request)).provider).toBe("gemini");
    expectNoSecrets(gw.logs.text);
  });
});
