import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ConfigError } from "../../src/config/config-error.js";
import { EncryptedFileStore, SecretStoreError } from "../../src/secrets/encrypted-file-store.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { runCli } from "../support/cli-process.js";
import { thrownBy } from "../support/failure.js";
import type { TestGateway } from "../support/gateway.js";
import { startFileKeyGateway } from "./support/file-key-gateway.js";

const VALUE = "sk-rotated-file-secret-7c2e9a41d0";
const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const KEYS_AS_TEXT = [OLD_KEY, NEW_KEY].flatMap((key) => [key.toString("base64"), key.toString("hex")]);

/** A secrets file written with OLD_KEY, as it was before the rotation. */
function fileUnderOldKey(): string {
  const path = join(mkdtempSync(join(tmpdir(), "sb-file-rotation-")), "secrets.enc");
  new EncryptedFileStore(path, OLD_KEY).set("openai", VALUE);
  return path;
}

function expectNoKeyIn(text: string): void {
  for (const key of KEYS_AS_TEXT) expect(text).not.toContain(key);
  expect(text).not.toContain(VALUE);
}

describe("rotating the encrypted file's key, in the library", () => {
  it("opens under a previous key with one warning, and rewrap re-encrypts it under the current key only", () => {
    const path = fileUnderOldKey();
    const warnings: string[] = [];
    const store = new EncryptedFileStore(path, NEW_KEY, { previousKeys: [randomBytes(32), OLD_KEY], warn: (message) => warnings.push(message) });
    expect(store.get("openai")?.value).toBe(VALUE);
    expect(store.get("openai")?.value).toBe(VALUE);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("opened with a key from SWITCHBOARD_SECRET_KEY_PREVIOUS");
    expect(warnings[0]).toContain("switchboard secrets rewrap");

    expect(store.rewrap()).toEqual({ outcome: "rewrapped", secrets: 1 });
    expect(readdirSync(join(path, ".."))).toEqual(["secrets.enc"]); // no temporary or lock file left behind
    expect(new EncryptedFileStore(path, NEW_KEY).get("openai")?.value).toBe(VALUE);
    expect(thrownBy(() => new EncryptedFileStore(path, OLD_KEY).read())).toBeInstanceOf(SecretStoreError);
    expect(store.rewrap()).toEqual({ outcome: "current", secrets: 1 });
  });

  it("loads SWITCHBOARD_SECRET_KEY_PREVIOUS (comma-separated) from the environment", () => {
    const path = fileUnderOldKey();
    const env = { SWITCHBOARD_SECRET_KEY: NEW_KEY.toString("base64"), SWITCHBOARD_SECRET_KEY_PREVIOUS: ` ${randomBytes(32).toString("hex")}, ${OLD_KEY.toString("base64")} ` };
    const warnings: string[] = [];
    expect(EncryptedFileStore.fromEnv(path, env, undefined, (message) => warnings.push(message)).get("openai")?.value).toBe(VALUE);
    expect(warnings).toHaveLength(1);
    const bad = thrownBy(() => EncryptedFileStore.fromEnv(path, { ...env, SWITCHBOARD_SECRET_KEY_PREVIOUS: "hunter2-not-a-key" }, undefined, () => {}));
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.message).not.toContain("hunter2");
  });

  it("refuses, writing nothing, when neither key opens the file, and names the way out", () => {
    const path = fileUnderOldKey();
    const before = readFileSync(path);
    const withoutPrevious = new EncryptedFileStore(path, NEW_KEY);
    expect(thrownBy(() => withoutPrevious.read()).message).toContain("put the old key in SWITCHBOARD_SECRET_KEY_PREVIOUS");
    const wrongPrevious = new EncryptedFileStore(path, NEW_KEY, { previousKeys: [randomBytes(32)] });
    for (const action of [() => wrongPrevious.rewrap(), () => wrongPrevious.set("other", "sk-other-0000")]) {
      const err = thrownBy(action);
      expect(err).toBeInstanceOf(SecretStoreError);
      expect(err.message).toBe(`${path}: wrong data key: neither SWITCHBOARD_SECRET_KEY (or the key file) nor any key in SWITCHBOARD_SECRET_KEY_PREVIOUS is the key this secrets file was written with`);
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it("any write encrypts under the current key", () => {
    const path = fileUnderOldKey();
    new EncryptedFileStore(path, NEW_KEY, { previousKeys: [OLD_KEY] }).set("anthropic", "sk-ant-other-0000");
    expect([...new EncryptedFileStore(path, NEW_KEY).read().keys()].sort()).toEqual(["anthropic", "openai"]);
  });
});

describe("switchboard secrets rewrap (the encrypted file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-file-rotation-cli-"));
  const file = join(dir, "secrets.enc");
  const base = { ...process.env, SWITCHBOARD_SECRETS_FILE: file, SWITCHBOARD_CONFIG: "", SWITCHBOARD_DATA_DIR: dir, SWITCHBOARD_SECRET_KEY_FILE: "", SWITCHBOARD_SECRET_KEY_PREVIOUS: "" };
  const oldOnly = { ...base, SWITCHBOARD_SECRET_KEY: OLD_KEY.toString("base64") };
  const rotating = { ...base, SWITCHBOARD_SECRET_KEY: NEW_KEY.toString("base64"), SWITCHBOARD_SECRET_KEY_PREVIOUS: OLD_KEY.toString("hex") };
  const newOnly = { ...base, SWITCHBOARD_SECRET_KEY: NEW_KEY.toString("base64") };

  it("rotates: the file opens under the previous key with a warning, rewrap moves it, and then the old key alone no longer opens it", async () => {
    expect((await runCli(["secrets", "set", "openai"], oldOnly, { input: VALUE })).code).toBe(0);

    const before = readFileSync(file);
    const refused = await runCli(["secrets", "list"], newOnly);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain("wrong data key");
    expect(refused.stderr).toContain("SWITCHBOARD_SECRET_KEY_PREVIOUS");

    const listed = await runCli(["secrets", "list"], rotating);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/openai\s+[0-9a-f]{8}/);
    expect(listed.stderr).toMatch(/^switchboard: warning: .*opened with a key from SWITCHBOARD_SECRET_KEY_PREVIOUS.*`switchboard secrets rewrap`/);
    expect(readFileSync(file).equals(before)).toBe(true); // reading never rewrites

    const rewrapped = await runCli(["secrets", "rewrap"], rotating);
    expect(rewrapped).toMatchObject({ code: 0, stderr: "", stdout: `re-encrypted ${file} (1 secrets) with the current key; SWITCHBOARD_SECRET_KEY_PREVIOUS is no longer needed for it\n` });
    expect(await runCli(["secrets", "rewrap"], rotating)).toMatchObject({ code: 0, stdout: `${file} (1 secrets) is encrypted with the current key already; nothing changed\n` });

    expect(await runCli(["secrets", "list"], newOnly)).toMatchObject({ code: 0, stderr: "" });
    const oldAlone = await runCli(["secrets", "list"], oldOnly);
    expect(oldAlone.code).toBe(78);
    expect(oldAlone.stderr).toContain("wrong data key");
    expect(new EncryptedFileStore(file, NEW_KEY).get("openai")?.value).toBe(VALUE);

    for (const result of [refused, listed, rewrapped, oldAlone]) expectNoKeyIn(result.stdout + result.stderr);
  }, 60_000);

  it("refuses with exit code 78, writing nothing, when neither key opens the file", async () => {
    const before = readFileSync(file);
    const wrong = { ...base, SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("base64"), SWITCHBOARD_SECRET_KEY_PREVIOUS: randomBytes(32).toString("base64") };
    const result = await runCli(["secrets", "rewrap"], wrong);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("wrong data key: neither SWITCHBOARD_SECRET_KEY (or the key file) nor any key in SWITCHBOARD_SECRET_KEY_PREVIOUS");
    expectNoKeyIn(result.stderr);
    expect(readFileSync(file).equals(before)).toBe(true);
  }, 60_000);

  it("says so when there is no file, and keeps --all for the database store", async () => {
    const nowhere = { ...newOnly, SWITCHBOARD_SECRETS_FILE: join(dir, "missing.enc") };
    expect(await runCli(["secrets", "rewrap"], nowhere)).toMatchObject({ code: 1, stderr: `switchboard: no secrets file at ${nowhere.SWITCHBOARD_SECRETS_FILE} (SWITCHBOARD_SECRETS_FILE or secrets.file); nothing changed\n` });
    const all = await runCli(["secrets", "rewrap", "--all"], newOnly);
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/^--all goes with rewrap --store db only/);
  }, 60_000);
});

describe("a gateway whose secrets file is still under the previous key", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const path = fileUnderOldKey();
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: VALUE });
    gw = await startFileKeyGateway(fake.baseUrl, "openai", {
      SWITCHBOARD_SECRET_KEY: NEW_KEY.toString("base64"),
      SWITCHBOARD_SECRET_KEY_PREVIOUS: OLD_KEY.toString("base64"),
      SWITCHBOARD_SECRETS_FILE: path,
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("serves the key from it and warns, once, to re-encrypt it", async () => {
    const res = await gw.client().chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    expect(res.message?.content).toBe("Echo: hi");
    const warnings = gw.logs.entries.filter((entry) => String(entry.msg ?? entry.message).includes("SWITCHBOARD_SECRET_KEY_PREVIOUS"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe("warn");
    expect(JSON.stringify(warnings[0])).toContain("switchboard secrets rewrap");
    expectNoKeyIn(gw.logs.text);
  });

  it("after a rewrap, a gateway with the previous key alone refuses to start", async () => {
    expect(new EncryptedFileStore(path, NEW_KEY, { previousKeys: [OLD_KEY] }).rewrap().outcome).toBe("rewrapped");
    const started = await startFileKeyGateway(fake.baseUrl, "openai", { SWITCHBOARD_SECRET_KEY: OLD_KEY.toString("base64"), SWITCHBOARD_SECRETS_FILE: path }).catch((err: Error) => err);
    expect(started).toBeInstanceOf(ConfigError);
    expect((started as Error).message).toContain("wrong data key");
  });
});
