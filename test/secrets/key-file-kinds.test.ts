// The secrets key file (SWITCHBOARD_SECRET_KEY_FILE, secrets.key_file) must
// be a regular file (or a link to one). Before, one pointing at a named pipe
// (FIFO) with no writer hung the CLI and the gateway for ever at open(), with
// no output (audit pools2 #4); now it is refused at once, like a directory,
// with exit code 78.
import { execFileSync } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { loadDataKey } from "../../src/secrets/data-key.js";
import { runCli } from "../support/cli-process.js";
import { tempDir } from "../support/stores.js";

const DATA_KEY = Buffer.alloc(32, 7);

describe("the secrets key file", () => {
  it("pointing at a named pipe: the CLI refuses it at once, exit code 78, instead of hanging", async () => {
    const dir = tempDir("sb-keyfifo-");
    const fifo = join(dir, "key.fifo");
    execFileSync("mkfifo", [fifo]);
    const env = { PATH: process.env.PATH, SWITCHBOARD_CONFIG: "", SWITCHBOARD_DATA_DIR: dir, SWITCHBOARD_SECRETS_FILE: join(dir, "secrets.enc"), SWITCHBOARD_SECRET_KEY_FILE: fifo };
    // Killed (code null) if it hangs: the old behaviour.
    const list = await runCli(["secrets", "list"], env, { timeoutMs: 30_000 });
    expect(list.code).toBe(78);
    expect(list.stderr).toContain(`${fifo}: is a named pipe (FIFO), not a regular file: the secrets key file must be a file holding 32 random bytes`);
    expect(() => loadDataKey({}, fifo)).toThrow(ConfigError); // in the gateway's process too, at once
  }, 60_000);

  it("is refused when a directory or a device, read when a link to a regular file", () => {
    const dir = tempDir("sb-keykinds-");
    expect(() => loadDataKey({}, dir)).toThrow(`${dir}: is a directory, not a regular file`);
    expect(() => loadDataKey({}, "/dev/null")).toThrow("/dev/null: is a character device, not a regular file");
    const file = join(dir, "data.key");
    writeFileSync(file, `${DATA_KEY.toString("base64")}\n`, { mode: 0o600 });
    const link = join(dir, "current.key"); // how Kubernetes mounts a secret: a link to the file
    symlinkSync(file, link);
    expect(loadDataKey({}, link)).toEqual(DATA_KEY);
  });
});
