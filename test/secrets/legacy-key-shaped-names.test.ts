// Names that look like keys, stored in the encrypted file before `secrets set`
// refused them: `secrets list` shows them masked (as log lines mask keys, or
// "[redacted]" for one of the gateway's own secrets) with the name's
// fingerprint and a note to rename, and `secrets rm` still removes them (by
// name or by that fingerprint) without echoing them (audit secrets: issue 16 / 10).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { beforeEach, describe, expect, it } from "vitest";
import { secretsCommand, type CommandIo } from "../../src/cli/secrets-command.js";
import { fingerprint } from "../../src/secrets/credential.js";
import { EncryptedFileStore } from "../../src/secrets/encrypted-file-store.js";
import { tempDir } from "../support/stores.js";

const PASTED_KEY = "sk-proj-ABCDEFghijklmnop1234567890";
const VAULT_TOKEN = "plainlowercasevaulttoken";

/** Runs `switchboard secrets ARGS` in this process, with nothing on stdin. */
async function secrets(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => (out += chunk));
  stderr.on("data", (chunk) => (err += chunk));
  const io: CommandIo = { stdin: Readable.from([]) as unknown as NodeJS.ReadStream, stdout, stderr, env };
  const code = await secretsCommand(args, io);
  return { code, stdout: out, stderr: err };
}

describe("a stored name that looks like a key", () => {
  let env: NodeJS.ProcessEnv;
  let store: EncryptedFileStore;

  beforeEach(() => {
    const dir = tempDir("sb-legacy-names-");
    const key = randomBytes(32);
    env = { SWITCHBOARD_SECRET_KEY: key.toString("base64"), SWITCHBOARD_SECRETS_FILE: join(dir, "secrets.enc"), SWITCHBOARD_CONFIG: "", SWITCHBOARD_DATA_DIR: dir, VAULT_TOKEN };
    // As an older `secrets set` stored them: the store itself takes any valid name.
    store = new EncryptedFileStore(env.SWITCHBOARD_SECRETS_FILE!, key);
    for (const name of [PASTED_KEY, VAULT_TOKEN, "openai-prod"]) store.set(name, "sk-legacy-value-0000");
  });

  it("is listed masked, with its fingerprint and a note to rename", async () => {
    const list = await secrets(["list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout + list.stderr).not.toContain(PASTED_KEY);
    expect(list.stdout + list.stderr).not.toContain(VAULT_TOKEN);
    const names = list.stdout.split("\n").slice(1, -1).map((line) => line.split(/ {2,}/)[0]);
    expect(names.sort()).toEqual(["[redacted] #" + fingerprint(VAULT_TOKEN), "openai-prod", "sk-pro… #" + fingerprint(PASTED_KEY)].sort());
    expect(list.stderr).toContain("2 names above look like a key or token");
    expect(list.stderr).toContain("secrets rm '#FINGERPRINT'");
  });

  it("is removed by `secrets rm` given its fingerprint, never echoed", async () => {
    const removed = await secrets(["rm", `#${fingerprint(PASTED_KEY)}`], env);
    expect(removed).toMatchObject({ code: 0, stderr: "" });
    expect(removed.stdout).toBe(`removed sk-pro… #${fingerprint(PASTED_KEY)} from ${env.SWITCHBOARD_SECRETS_FILE}\n`);
    expect([...store.read().keys()].sort()).toEqual(["openai-prod", VAULT_TOKEN]);
  });

  it("is removed by `secrets rm` given its name, never echoed; a second time, not found, still not echoed", async () => {
    const removed = await secrets(["rm", VAULT_TOKEN], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`removed [redacted] #${fingerprint(VAULT_TOKEN)} from ${env.SWITCHBOARD_SECRETS_FILE}\n`);
    const again = await secrets(["rm", VAULT_TOKEN], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no secret named");
    expect(again.stdout + again.stderr).not.toContain(VAULT_TOKEN);
    expect([...store.read().keys()].sort()).toEqual(["openai-prod", PASTED_KEY]);
  });

  it("leaves plain names as they are", async () => {
    expect(await secrets(["rm", "openai-prod"], env)).toMatchObject({ code: 0, stdout: `removed openai-prod from ${env.SWITCHBOARD_SECRETS_FILE}\n` });
    expect(await secrets(["rm", "#00000000"], env)).toMatchObject({ code: 1 });
  });
});
