// After an admin API rotation (StageKey of a `file:` key replacing the quick start's
// `env` key, then PromoteKey), the operator tidies up: the provider's variable now holds
// the key that is live. A restart on the same store serves that key once, as the
// configured key it now is, and keeps the rotation's record; it used to stop with exit
// 78, telling the operator to make readable references readable. The same holds for
// docs/secrets.md's way of bringing a disabled key back, and for the config-file way
// of dropping the variable. With the variable unset (and no config), the provider is
// off and a warning names the rotations that wait for it.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { ConfigFile } from "../../src/config/schema.js";
import { EncryptedFileStore } from "../../src/secrets/encrypted-file-store.js";
import { ROTATION_HELD_BY_POOL_KEY, ROTATIONS_WITHOUT_PROVIDER, UNRESTORED_ROTATION } from "../../src/secrets/provider-pools.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { adminClient, calls, credentialStates, requestsByKey } from "./support/admin.js";

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;
const name = (id: string) => `providers/openai/credentials/${id}`;

describe("a rotated key put where the configured key is read, across restarts", () => {
  const OLD = vendorKey("old");
  const NEW = vendorKey("new");
  const DATA_KEY = randomBytes(32);
  let fake: OpenAIFake;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: OLD, extraKeys: [NEW] });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  /** A data directory and secrets file of their own (`switchboard secrets set` writes the file). */
  const workspace = (entries: Record<string, string>) => {
    const dataDir = tempDir("sb-rotation-configured-");
    const secretsFile = join(dataDir, "secrets.enc");
    const file = new EncryptedFileStore(secretsFile, DATA_KEY);
    for (const [entry, value] of Object.entries(entries)) file.set(entry, value);
    return { SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_SECRETS_FILE: secretsFile, SWITCHBOARD_SECRET_KEY: DATA_KEY.toString("base64") };
  };
  /** The gateway on `space`, the provider enabled by OPENAI_API_KEY (the quick start's) unless `file` configures it. */
  const start = async (space: Record<string, string>, env: Record<string, string>, file: ConfigFile = {}) => {
    await gw?.stop();
    gw = undefined;
    gw = await startGateway({ ...space, OPENAI_BASE_URL: fake.baseUrl, ...env }, file);
    return gw;
  };
  const states = () => credentialStates(gw!);
  const keysSeen = async (n: number) => {
    const from = fake.requests.length;
    expect((await calls(gw!, n)).failed).toEqual([]);
    return new Set(requestsByKey(fake, from).keys());
  };
  const health = async () => (await (await fetch(`${gw!.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
  const logged = (msg: string) => gw!.logs.entries.filter((e) => e.msg === msg);
  const noSecretLogged = () => {
    for (const secret of [OLD, NEW, MASTER_KEY]) expect(gw!.logs.text).not.toContain(secret);
  };
  /** StageKey of `file:<entry>` under `id` replacing the quick start's key, then PromoteKey. */
  const rotate = async (id: string, entry: string) => {
    const admin = adminClient(gw!);
    await admin.stageKey({ parent: "providers/openai", credentialId: id, secretRef: `file:${entry}`, replaces: name("env"), trafficShare: 0.1 });
    await admin.promoteKey({ name: name(id) });
  };

  it("serves the new key once as the configured key when the variable holds it, and keeps the rotation's record", async () => {
    const space = workspace({ "openai-new": NEW });
    await start(space, { OPENAI_API_KEY: OLD });
    await rotate("key-new", "openai-new");
    expect(await keysSeen(6)).toEqual(new Set([NEW]));

    // The obvious tidy-up: the variable holds the key that is live.
    await start(space, { OPENAI_API_KEY: NEW });
    expect(await states()).toEqual(new Map([[name("env"), CredentialState.ACTIVE]]));
    expect(logged(ROTATION_HELD_BY_POOL_KEY)).toMatchObject([{ level: "info", provider: "openai", credential: "key-new", source: "file:openai-new", state: "promoted", heldBy: "openai/env" }]);
    expect(logged(UNRESTORED_ROTATION)).toEqual([]);
    expect((await health()).dependencies.key_rotations).toBeUndefined();
    expect(await keysSeen(6)).toEqual(new Set([NEW]));
    noSecretLogged();

    // The record is kept as it was: with the variable back on the old key, the rotation retires it again.
    await start(space, { OPENAI_API_KEY: OLD });
    expect(await states()).toEqual(
      new Map([
        [name("env"), CredentialState.RETIRED],
        [name("key-new"), CredentialState.ACTIVE],
      ]),
    );
    expect(await keysSeen(6)).toEqual(new Set([NEW]));
  });

  it("starts again after docs/secrets.md's way back for a disabled key (the same secret staged under a new id, replacing it)", async () => {
    const space = workspace({ "openai-2025-06": OLD });
    await start(space, { OPENAI_API_KEY: OLD });
    await adminClient(gw!).disableKey({ name: name("env"), reason: "thought leaked" });
    expect((await calls(gw!, 1)).ok).toBe(0);
    await rotate("key-2025-06", "openai-2025-06");
    expect(await keysSeen(4)).toEqual(new Set([OLD]));

    // Nothing changed in the environment.
    await start(space, { OPENAI_API_KEY: OLD });
    expect(await states()).toEqual(new Map([[name("env"), CredentialState.ACTIVE]]));
    expect(logged(ROTATION_HELD_BY_POOL_KEY)).toMatchObject([{ credential: "key-2025-06", heldBy: "openai/env" }]);
    expect(logged(UNRESTORED_ROTATION)).toEqual([]);
    expect(await keysSeen(4)).toEqual(new Set([OLD]));
    noSecretLogged();
  });

  it("with the variable unset the provider is off, and a warning names the rotation; configured by reference in the file, it serves the rotated key once", async () => {
    const space = workspace({ "openai-new": NEW });
    await start(space, { OPENAI_API_KEY: OLD });
    await rotate("key-new", "openai-new");

    // Another vendor keeps the gateway up; OpenAI is not configured at all.
    await start(space, { ANTHROPIC_API_KEY: vendorKey("anthropic") });
    expect(logged(ROTATIONS_WITHOUT_PROVIDER)).toMatchObject([{ level: "warn", provider: "openai", credentials: ["key-new"] }]);

    // docs/secrets.md: drop the variable by configuring the provider with the key's reference, under the rotation's id.
    await start(space, {}, { providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "key-new", secret: "file:openai-new", weight: 1 }] } } });
    expect(await states()).toEqual(new Map([[name("key-new"), CredentialState.ACTIVE]]));
    expect(logged(ROTATION_HELD_BY_POOL_KEY)).toMatchObject([{ credential: "key-new", heldBy: "openai/key-new" }]);
    expect(logged(UNRESTORED_ROTATION)).toEqual([]);
    expect(await keysSeen(4)).toEqual(new Set([NEW]));
    noSecretLogged();
  });
});
