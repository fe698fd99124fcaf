// `switchboard secrets set "$OPENAI_API_KEY"` (the key where its name goes)
// is refused for the encrypted file as the gateway refuses it for the
// database store, with the same check (api/admin/secret-lookalike.ts): before
// the value is asked for, and never echoing the name (audit secrets F7).
// Before, the file stored the key as a name and `secrets list` printed it.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { secretsCommand, type CommandIo } from "../../src/cli/secrets-command.js";
import { tempDir } from "../support/stores.js";

const PASTED_KEY = "sk-proj-ABCDEFghijklmnop1234567890";
const VAULT_TOKEN = "plainlowercasevaulttoken";
const VALUE = "sk-the-value-0000";

/** Runs `switchboard secrets ARGS` in this process, `input` on its stdin. */
async function secrets(args: string[], env: NodeJS.ProcessEnv, input = VALUE): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => (out += chunk));
  stderr.on("data", (chunk) => (err += chunk));
  const io: CommandIo = { stdin: Readable.from([input]) as unknown as NodeJS.ReadStream, stdout, stderr, env };
  const code = await secretsCommand(args, io);
  return { code, stdout: out, stderr: err };
}

describe("a secret's name that holds a secret", () => {
  const dir = tempDir("sb-secret-names-");
  const env = {
    SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("base64"),
    SWITCHBOARD_SECRETS_FILE: join(dir, "secrets.enc"),
    SWITCHBOARD_CONFIG: "",
    SWITCHBOARD_DATA_DIR: dir,
    VAULT_TOKEN,
  };

  it("is refused by `secrets set` and `rotate`, for either store, before the value is read; nothing is stored", async () => {
    for (const args of [["set", PASTED_KEY], ["set", VAULT_TOKEN], ["set", PASTED_KEY, "--store", "db"], ["rotate", PASTED_KEY, "--store", "db"]]) {
      const result = await secrets(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("holds what looks like a secret (a key or token)");
      expect(result.stdout + result.stderr).not.toContain(args[1]);
      expect(result.stdout + result.stderr).not.toContain(VALUE);
    }
    expect(await secrets(["list"], env)).toMatchObject({ code: 0, stdout: `no secrets in ${env.SWITCHBOARD_SECRETS_FILE}\n` });
  });

  it("leaves names alone", async () => {
    expect(await secrets(["set", "openai-prod"], env)).toMatchObject({ code: 0, stderr: "" });
    const list = await secrets(["list"], env);
    expect(list.stdout).toMatch(/^NAME +FINGERPRINT +UPDATED\nopenai-prod +/);
  });
});
