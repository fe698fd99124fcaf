// A name the encrypted file cannot store is often a key pasted where the name
// goes (a base64 one holds '+', '/' and '='): the refusal describes it (its
// length, the first kind of character it may not hold) and never quotes it,
// in the store's error and in `switchboard secrets set`, which refuses it
// before the value is asked for (audit secrets: issue 16 / 10).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { secretsCommand, type CommandIo } from "../../src/cli/secrets-command.js";
import { EncryptedFileStore } from "../../src/secrets/encrypted-file-store.js";
import { tempDir } from "../support/stores.js";

/** 32 bytes of base64 with '+' and '=': no key shape the CLI's own check knows (its runs are short). */
const PASTED_BASE64_KEY = "q1+Zr8/Kd3e+Wm0=Tf7+Yb2xPc9/Lh4=";

describe("a name the encrypted file cannot store", () => {
  const dir = tempDir("sb-invalid-names-");

  it.each<[string, string, string]>([
    ["a pasted base64 key", PASTED_BASE64_KEY, "has 32 characters, and character 3 is a symbol other than '.', '_', '/' and '-'"],
    ["a name with a space", "openai prod key", "has 15 characters, and character 7 is a space or other whitespace"],
    ["a name starting with punctuation", "-openai", "has 7 characters, and character 1 is punctuation, where a letter or digit must start the name"],
    ["a name with a control character", "openai\u001b[2J", "has 10 characters, and character 7 is a control character"],
    ["a name with a non-ASCII letter", "clé-openai", "has 10 characters, and character 3 is a non-ASCII character"],
    ["a name too long", "a".repeat(129), "has 129 characters"],
  ])("%s: refused, described, never quoted", (_label, name, described) => {
    const store = new EncryptedFileStore(join(dir, "secrets.enc"), randomBytes(32));
    const refusal = (() => {
      try {
        store.set(name, "sk-invalid-name-value-0000");
      } catch (err) {
        return err as Error;
      }
    })();
    expect(refusal?.message).toContain("the name given (not shown: it may be a key pasted there) " + described);
    expect(refusal?.message).toContain("a secret's name is 1 to 128 letters, digits, '.', '_', '/' and '-', starting with a letter or digit");
    expect(refusal?.message).not.toContain(name);
    expect(refusal?.message).not.toContain("sk-invalid-name-value-0000");
  });

  it("is refused by `secrets set` before the value is read, never quoted; nothing is stored", async () => {
    const env = { SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("base64"), SWITCHBOARD_SECRETS_FILE: join(dir, "cli.enc"), SWITCHBOARD_CONFIG: "", SWITCHBOARD_DATA_DIR: dir };
    let read = false;
    const stdin = new Readable({
      read() {
        read = true;
        this.push("sk-invalid-name-value-0000");
        this.push(null);
      },
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    stdout.on("data", (chunk) => (out += chunk));
    stderr.on("data", (chunk) => (out += chunk));
    const code = await secretsCommand(["set", PASTED_BASE64_KEY], { stdin: stdin as unknown as NodeJS.ReadStream, stdout, stderr, env } as CommandIo);
    expect(code).toBe(2);
    expect(read).toBe(false);
    expect(out).toContain("has 32 characters, and character 3 is a symbol");
    expect(out).toContain("nothing changed");
    expect(out).not.toContain(PASTED_BASE64_KEY);
    expect(new EncryptedFileStore(env.SWITCHBOARD_SECRETS_FILE, Buffer.from(env.SWITCHBOARD_SECRET_KEY, "base64")).read().size).toBe(0);
  });
});
