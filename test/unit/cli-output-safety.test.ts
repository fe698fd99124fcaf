import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { runCli, table, type CliIo } from "../../src/cli/admin-client.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { usageCommand } from "../../src/cli/usage-command.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

function io(env: NodeJS.ProcessEnv): CliIo & { stdout: Capture; stderr: Capture } {
  return { stdout: new Capture(), stderr: new Capture(), env };
}

/** No gateway listens here (port 1: one in the ephemeral range could be any test server's): the checks under test come before any connection. */
const NOWHERE = "http://127.0.0.1:1";

describe("the CLI's output", () => {
  it("writes control characters in table cells out as \\xNN", () => {
    const out = table(["NAME", "MODEL"], [["ok\u001b[2J\u001b]0;pwned\u0007", "openai/\u001b[31mEVIL\u001b[0m\u009b"]]);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain("ok\\x1b[2J\\x1b]0;pwned\\x07");
    expect(out).toContain("openai/\\x1b[31mEVIL\\x1b[0m\\x9b");
  });

  it("refuses an admin key a header cannot carry, without ever printing it", async () => {
    for (const key of ["sk-sb-BAD\nKEYFAKE", "sk-sb-BAD KEYFAKE", "sk-sb-BAD\u0000KEYFAKE", "sk-sb-BAD\u00e9KEYFAKE"]) {
      for (const command of [(out: CliIo) => keysCommand(["list"], out), (out: CliIo) => usageCommand(["--since", "1d"], out)]) {
        const cli = io({ SWITCHBOARD_ADMIN_KEY: key, SWITCHBOARD_URL: NOWHERE });
        expect(await command(cli)).toBe(2);
        expect(cli.stderr.text).toBe("switchboard: SWITCHBOARD_ADMIN_KEY contains characters a header cannot carry (only printable ASCII, no spaces or line breaks): check how it was set\n");
        expect(cli.stdout.text + cli.stderr.text).not.toContain("KEYFAKE");
      }
    }
  });

  it("cuts the admin key out of any error it prints, and writes the gateway's control characters out", async () => {
    const key = "sk-sb-REALKEYFAKE0123456789";
    const cli = io({ SWITCHBOARD_ADMIN_KEY: key, SWITCHBOARD_URL: NOWHERE });
    expect(await runCli(cli, async () => Promise.reject(new ConnectError(`upstream said Bearer ${key} is \u001b[2Jwrong`, Code.Unknown)))).toBe(1);
    expect(cli.stderr.text).not.toContain(key);
    expect(cli.stderr.text).toContain("Bearer [admin key] is \\x1b[2Jwrong");
  });

  it("writes invisible characters (zero-width, bidi overrides) out as \\u{…}, so a look-alike team shows as what it is", () => {
    const out = table(["TEAM", "NAME"], [["payments\u200b", "\u202etxt.exe"]]);
    expect(out).toContain("payments\\u{200b}");
    expect(out).toContain("\\u{202e}txt.exe");
  });

  it("never prints a user and password in SWITCHBOARD_URL in its hint", async () => {
    const cli = io({ SWITCHBOARD_ADMIN_KEY: "sk-sb-key", SWITCHBOARD_URL: "http://ops:hunter2secret@127.0.0.1:1/" });
    expect(await runCli(cli, async () => Promise.reject(new ConnectError("fetch failed", Code.Unavailable)))).toBe(1);
    expect(cli.stderr.text).toContain("is the gateway running at http://…@127.0.0.1:1/?");
    expect(cli.stderr.text).not.toContain("hunter2secret");
  });
});

describe("the keys command's settings", () => {
  it.each([
    [["update", "k1", "--models", ""], "--models names no model; to let the key call every model, say --all-models"],
    [["update", "k1", "--models", " , "], "--models names no model; to let the key call every model, say --all-models"],
    [["update", "k1", "--models", "gpt-*", "--all-models"], "--models cannot be combined with --all-models"],
    [["update", "k1", "--budget", "1e30"], '--budget: "1e30" is more than the largest budget, 1000000 per period'],
    [["update", "k1", "--budget", "Infinity"], '--budget: "Infinity" is more than the largest budget, 1000000 per period'],
  ])("refuses %j before any call", async (args, message) => {
    const cli = io({ SWITCHBOARD_ADMIN_KEY: "sk-sb-key", SWITCHBOARD_URL: NOWHERE });
    expect(await keysCommand(args, cli)).toBe(2);
    expect(cli.stderr.text).toBe(`switchboard: ${message}\n`);
  });
});
