// A Vault secret deleted or destroyed at its source is a definite answer,
// not an outage: the version is no longer used, the keys holding it are
// disabled with the reason, and the next version written brings the slot
// back through the canary. A refused read (403) is not such an answer: the
// last known key keeps serving. Against the real OpenBao the global setup
// starts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { parseSecretRef } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { createLogger } from "../../src/observability/logger.js";
import type { SecretGone } from "../../src/secrets/secret-gone.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { VaultSecretSource } from "../../src/secrets/vault-secret-source.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { LogCapture, MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { adminClient, calls, credentials, requestsByKey } from "./support/admin.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";

const secrets: string[] = [MASTER_KEY];
const vendorKey = (label: string) => {
  const value = `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  secrets.push(value);
  return value;
};

let bao: BaoAdmin;
const mount = unique("sb-deleted");
const policy = unique("switchboard-deleted");
let token: string;

beforeAll(async () => {
  ({ bao, token } = await baoMountWithReadToken(mount, policy));
  secrets.push(bao.rootToken, token);
});

/** A Vault source on a clock the test moves: each `poll()` is one due re-read of the watched secrets. */
function watchedSource() {
  const logs = new LogCapture();
  const logger = createLogger("debug", logs);
  const clock = { now: 1_000_000 };
  const client = new VaultClient({ address: bao.addr, auth: { method: "token", token }, timeoutMs: 2_000, logger });
  const degraded: (string | undefined)[] = [];
  const source = new VaultSecretSource(client, { refreshMs: 60_000, logger, now: () => clock.now, reportDegraded: (_c, problem) => degraded.push(problem) });
  const poll = async () => {
    clock.now += 60_000;
    await source.refreshWatched();
  };
  return { source, logs, degraded, poll };
}

describe("a watched Vault secret deleted at its source", () => {
  it("is served no more once its version is deleted, and the watchers are told once", async () => {
    const path = `switchboard/${unique("deleted")}`;
    const v1 = await bao.put(mount, path, { api_key: vendorKey("del") });
    const ref = parseSecretRef(`vault:${mount}/${path}#api_key`);
    const { source, logs, degraded, poll } = watchedSource();
    expect((await source.read(ref)).version).toBe(v1);
    const gone: SecretGone[] = [];
    source.watch(ref, () => {}, (news) => gone.push(news));

    await bao.request("DELETE", `${mount}/data/${path}`);
    await poll();
    await poll();
    expect(gone).toEqual([{ version: v1, reason: `version ${v1} of ${mount}/${path} was deleted in Vault` }]);
    const refused = await source.read(ref).catch((err: Error) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain(`version ${v1} of ${mount}/${path} was deleted in Vault`);
    // Vault answered: the source is not degraded, and the reason is said once, without the value.
    expect(degraded.filter(Boolean)).toEqual([]);
    expect(logs.entries.filter((e) => e.msg.startsWith("a Vault secret was deleted in Vault"))).toHaveLength(1);
    for (const secret of secrets) expect(logs.text).not.toContain(secret);
    await source.close();
  });

  it("says so for a destroyed version, and for a secret whose every version is gone", async () => {
    const destroyedPath = `switchboard/${unique("destroyed")}`;
    const metadataPath = `switchboard/${unique("metadata")}`;
    const d1 = await bao.put(mount, destroyedPath, { api_key: vendorKey("destroy") });
    await bao.put(mount, metadataPath, { api_key: vendorKey("meta") });
    const destroyed = parseSecretRef(`vault:${mount}/${destroyedPath}#api_key`);
    const metadata = parseSecretRef(`vault:${mount}/${metadataPath}#api_key`);
    const { source, poll } = watchedSource();
    await source.read(destroyed);
    await source.read(metadata);
    const gone: Record<string, SecretGone[]> = { destroyed: [], metadata: [] };
    source.watch(destroyed, () => {}, (news) => gone.destroyed!.push(news));
    source.watch(metadata, () => {}, (news) => gone.metadata!.push(news));

    await bao.request("PUT", `${mount}/destroy/${destroyedPath}`, { versions: [d1] });
    await bao.request("DELETE", `${mount}/metadata/${metadataPath}`);
    await poll();
    expect(gone.destroyed).toEqual([{ version: d1, reason: `version ${d1} of ${mount}/${destroyedPath} was destroyed in Vault` }]);
    expect(gone.metadata).toEqual([{ version: undefined, reason: `nothing is at ${mount}/${metadataPath} in Vault any more (every version is gone)` }]);
    await source.close();
  });

  it("keeps the version it holds when only a newer one, never served, was deleted", async () => {
    const path = `switchboard/${unique("newer")}`;
    const value = vendorKey("kept");
    const v1 = await bao.put(mount, path, { api_key: value });
    const ref = parseSecretRef(`vault:${mount}/${path}#api_key`);
    const { source, poll } = watchedSource();
    await source.read(ref);
    const gone: SecretGone[] = [];
    source.watch(ref, () => {}, (news) => gone.push(news));

    await bao.put(mount, path, { api_key: vendorKey("unseen") });
    await bao.request("DELETE", `${mount}/data/${path}`);
    await poll();
    expect(gone).toEqual([]);
    expect(await source.read(ref)).toEqual({ value, version: v1 });
    await source.close();
  });
});

describe("a gateway whose Vault key is deleted", () => {
  const path = `switchboard/${unique("openai")}`;
  const ref = `vault:${mount}/${path}#api_key`;
  const name = (version: number) => `providers/openai/credentials/primary@v${version}`;
  const K1 = vendorKey("v1");
  const K2 = vendorKey("v2");
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    await bao.put(mount, path, { api_key: K1 });
    fake = await startOpenAIFake({ apiKey: K1, extraKeys: [K2] });
    gw = await startGateway(
      { VAULT_ADDR: bao.addr, VAULT_TOKEN: token },
      {
        providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: ref, weight: 1 }] } },
        secrets: { vault: { refresh_ms: 200 } },
        key_pool: { promote_after: 3 },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  const health = async () => ((await (await fetch(`${gw.url}/healthz`)).json()) as { dependencies: Record<string, string> }).dependencies.vault;

  it("stops using the key: disabled with the reason, an error line naming its id and fingerprint", async () => {
    expect((await calls(gw, 3)).failed).toEqual([]);
    await bao.request("DELETE", `${mount}/data/${path}`);
    await eventually(async () => expect((await credentials(adminClient(gw), "openai")).byName.get(name(1))?.state).toBe(CredentialState.DISABLED), 5_000);
    const { byName, json } = await credentials(adminClient(gw), "openai");
    const key = byName.get(name(1))!;
    expect(key.stateReason).toBe(`secret deleted at its source: version 1 of ${mount}/${path} was deleted in Vault`);
    const line = gw.logs.entries.find((e) => e.level === "error" && e.credential === "openai/primary@v1");
    expect(line).toMatchObject({ fingerprint: key.fingerprint, msg: expect.stringMatching(/^the key's secret was deleted at its source/) });

    const from = fake.requests.length;
    expect((await calls(gw, 3)).failed).toHaveLength(3);
    expect(requestsByKey(fake, from).get(K1)).toBeUndefined();
    expect(await health()).toBe("ok");
    for (const secret of secrets) expect(gw.logs.text + json).not.toContain(secret);
  });

  it("takes the next version written as a canary, and promotes it as any rotation", async () => {
    await bao.put(mount, path, { api_key: K2 });
    await eventually(async () => expect((await credentials(adminClient(gw), "openai")).byName.get(name(2))?.state).toBe(CredentialState.STANDBY), 5_000);
    const from = fake.requests.length;
    expect((await calls(gw, 4)).failed).toEqual([]);
    expect([...requestsByKey(fake, from).keys()]).toEqual([K2]);
    const { byName } = await credentials(adminClient(gw), "openai");
    expect(byName.get(name(2))?.state).toBe(CredentialState.ACTIVE);
    expect(byName.get(name(1))?.state).toBe(CredentialState.RETIRED);
  });

  it("keeps serving the key it has when Vault refuses the read (403): a policy, not an answer about the secret", async () => {
    await bao.policy(policy, `path "${mount}/data/elsewhere/*" {\n  capabilities = ["read"]\n}\n`);
    try {
      await eventually(async () => expect(await health()).toMatch(/^degraded: /), 5_000);
      expect((await calls(gw, 3)).failed).toEqual([]);
      expect((await credentials(adminClient(gw), "openai")).byName.get(name(2))?.state).toBe(CredentialState.ACTIVE);
    } finally {
      await bao.readPolicy(policy, mount, "switchboard");
    }
    await eventually(async () => expect(await health()).toBe("ok"), 5_000);
  });
});
