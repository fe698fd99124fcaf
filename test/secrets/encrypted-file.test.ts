import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { parseSecretRef } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { loadDataKey } from "../../src/secrets/data-key.js";
import { EncryptedFileStore, SecretStoreError } from "../../src/secrets/encrypted-file-store.js";
import { FileSecretSource } from "../../src/secrets/file-secret-source.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { runCli } from "../support/cli-process.js";
import { thrownBy } from "../support/failure.js";
import type { TestGateway } from "../support/gateway.js";
import { startFileKeyGateway } from "./support/file-key-gateway.js";

const VALUE = "sk-file-secret-5d1f0a9c3b7e";
const KEY = randomBytes(32);

function tempStore(key = KEY): EncryptedFileStore {
  return new EncryptedFileStore(join(mkdtempSync(join(tmpdir(), "sb-secrets-")), "secrets.enc"), key);
}

describe("the encrypted secrets file", () => {
  it("keeps secrets encrypted at rest, readable only with the key, in a file only its owner can read", () => {
    const store = tempStore();
    expect(store.set("openai", VALUE)).toBe(false);
    expect(store.set("openai", `${VALUE}-2`)).toBe(true);
    store.set("anthropic", "sk-ant-other");
    const bytes = readFileSync(store.path, "utf8");
    expect(bytes).not.toContain("sk-file-secret");
    expect(bytes).not.toContain("openai"); // names are encrypted too
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(store.path, ".."))).toEqual(["secrets.enc"]); // no temporary or lock file left behind
    const reopened = new EncryptedFileStore(store.path, Buffer.from(KEY));
    expect(reopened.get("openai")?.value).toBe(`${VALUE}-2`);
    expect([...reopened.read().keys()].sort()).toEqual(["anthropic", "openai"]);
    expect(reopened.remove("anthropic")).toBe(true);
    expect(reopened.remove("anthropic")).toBe(false);
    expect([...store.read().keys()]).toEqual(["openai"]);
  });

  it("a wrong key gives a clear error and changes nothing", () => {
    const store = tempStore();
    store.set("openai", VALUE);
    const before = readFileSync(store.path);
    const wrong = new EncryptedFileStore(store.path, randomBytes(32));
    for (const action of [() => wrong.read(), () => wrong.set("openai", "sk-overwrite"), () => wrong.remove("openai")]) {
      const err = thrownBy(action);
      expect(err).toBeInstanceOf(SecretStoreError);
      expect(err.message).toBe(`${store.path}: wrong data key: SWITCHBOARD_SECRET_KEY (or the key file) is not the key this secrets file was written with (after a key rotation, put the old key in SWITCHBOARD_SECRET_KEY_PREVIOUS)`);
    }
    expect(readFileSync(store.path).equals(before)).toBe(true);
  });

  it("a corrupted file gives a clear error and changes nothing", () => {
    const store = tempStore();
    store.set("openai", VALUE);
    const envelope = JSON.parse(readFileSync(store.path, "utf8"));
    const flipped = Buffer.from(envelope.ciphertext, "base64");
    flipped.writeUInt8(flipped.readUInt8(3) ^ 0x01, 3);
    writeFileSync(store.path, JSON.stringify({ ...envelope, ciphertext: flipped.toString("base64") }));
    const damaged = readFileSync(store.path);
    const fresh = new EncryptedFileStore(store.path, KEY);
    expect(thrownBy(() => fresh.read()).message).toBe(`${store.path}: the secrets file is corrupted (its contents fail authentication: it was damaged or modified); restore it from a backup`);
    expect(thrownBy(() => fresh.set("anthropic", "sk-x")).message).toContain("corrupted");
    expect(readFileSync(store.path).equals(damaged)).toBe(true);

    writeFileSync(store.path, damaged.subarray(0, 40));
    expect(thrownBy(() => new EncryptedFileStore(store.path, KEY).read()).message).toContain("corrupted (not a switchboard secrets file)");
  });

  it("reads the data key from SWITCHBOARD_SECRET_KEY or a key file, and never echoes a bad one", () => {
    expect(loadDataKey({ SWITCHBOARD_SECRET_KEY: KEY.toString("base64") }, undefined).equals(KEY)).toBe(true);
    expect(loadDataKey({ SWITCHBOARD_SECRET_KEY: KEY.toString("hex") }, undefined).equals(KEY)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "sb-key-"));
    writeFileSync(join(dir, "raw.key"), KEY);
    writeFileSync(join(dir, "b64.key"), `${KEY.toString("base64url")}\n`);
    expect(loadDataKey({}, join(dir, "raw.key")).equals(KEY)).toBe(true);
    expect(loadDataKey({}, join(dir, "b64.key")).equals(KEY)).toBe(true);
    const short = thrownBy(() => loadDataKey({ SWITCHBOARD_SECRET_KEY: "hunter2-is-not-a-key" }, undefined));
    expect(short).toBeInstanceOf(ConfigError);
    expect(short.message).not.toContain("hunter2");
    expect(thrownBy(() => loadDataKey({}, undefined)).message).toContain("openssl rand -base64 32");
  });

  it("serves file: references, and sees a secret added while the gateway runs", async () => {
    const store = tempStore();
    store.set("openai", VALUE);
    const source = new FileSecretSource(() => new EncryptedFileStore(store.path, KEY));
    expect(await source.resolve(parseSecretRef("file:openai"))).toBe(VALUE);
    const missing = await source.resolve(parseSecretRef("file:later")).catch((err: Error) => err);
    expect((missing as Error).message).toContain("add it with `switchboard secrets set later`");
    store.set("later", "sk-later");
    utimesSync(store.path, new Date(), new Date(Date.now() + 5_000)); // a different mtime, whatever the filesystem's resolution
    expect(await source.resolve(parseSecretRef("file:later"))).toBe("sk-later");
  });
});

describe("switchboard secrets set|list|rm", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-cli-"));
  const env = { ...process.env, SWITCHBOARD_SECRET_KEY: KEY.toString("base64"), SWITCHBOARD_SECRETS_FILE: join(dir, "secrets.enc"), SWITCHBOARD_CONFIG: "", SWITCHBOARD_DATA_DIR: dir };

  it("sets from stdin, lists names and fingerprints (never values), and removes", async () => {
    const set = await runCli(["secrets", "set", "openai"], env, { input: `${VALUE}\n` });
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toMatch(/^stored openai \(fingerprint [0-9a-f]{8}\) in /);
    expect((await runCli(["secrets", "set", "deepseek"], env, { input: "sk-deep-0000" })).code).toBe(0);
    const list = await runCli(["secrets", "list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^NAME\s+FINGERPRINT\s+UPDATED$/);
    expect(list.stdout).toMatch(/deepseek\s+[0-9a-f]{8}/);
    expect(list.stdout).toMatch(/openai\s+[0-9a-f]{8}/);
    expect(new EncryptedFileStore(env.SWITCHBOARD_SECRETS_FILE, KEY).get("openai")?.value).toBe(VALUE); // the newline is not part of it
    expect(await runCli(["secrets", "rm", "deepseek"], env)).toMatchObject({ code: 0, stdout: `removed deepseek from ${env.SWITCHBOARD_SECRETS_FILE}\n` });
    expect(await runCli(["secrets", "rm", "deepseek"], env)).toMatchObject({ code: 1 });
    const all = [set, list].map((r) => r.stdout + r.stderr).join("");
    expect(all).not.toContain(VALUE);
  }, 60_000);

  it("with the wrong key: a clear error, exit code 78, and the file unchanged", async () => {
    const before = readFileSync(env.SWITCHBOARD_SECRETS_FILE);
    const wrong = { ...env, SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("base64") };
    for (const args of [["secrets", "list"], ["secrets", "set", "openai"], ["secrets", "rm", "openai"]]) {
      const result = await runCli(args, wrong, { input: "sk-should-not-land" });
      expect(result.code).toBe(78);
      expect(result.stderr).toContain("wrong data key");
    }
    expect(readFileSync(env.SWITCHBOARD_SECRETS_FILE).equals(before)).toBe(true);
  }, 60_000);
});

describe("a gateway with a key from the encrypted file", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  beforeAll(async () => {
    const store = tempStore();
    store.set("openai-prod", VALUE);
    fake = await startOpenAIFake({ apiKey: VALUE });
    gw = await startFileKeyGateway(fake.baseUrl, "openai-prod", { SWITCHBOARD_SECRET_KEY: KEY.toString("base64"), SWITCHBOARD_SECRETS_FILE: store.path });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("answers with the vendor key read from the file", async () => {
    const res = await gw.client().chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    expect(res.message?.content).toBe("Echo: hi");
    expect(gw.logs.text).not.toContain(VALUE);
  });
});

