// The CLI warns on stderr before sending the admin key in clear beyond this
// host (audit secrets, small items): a plain http:// SWITCHBOARD_URL whose host
// is not loopback. Loopback and https:// get no warning. No gateway listens:
// the warning comes before the call, which then fails.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/admin-client.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { MASTER_KEY } from "../support/gateway.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

async function stderrOf(url: string): Promise<string> {
  const io: CliIo & { stderr: Capture } = { stdout: new Capture(), stderr: new Capture(), env: { SWITCHBOARD_ADMIN_KEY: MASTER_KEY, SWITCHBOARD_URL: url } };
  expect(await keysCommand(["list"], io)).toBe(1);
  expect(io.stderr.text).not.toContain(MASTER_KEY);
  return io.stderr.text;
}

const WARNING = "is plain http:// to another host: the admin key (and any secret value the command sends) crosses the network unencrypted; use an https:// SWITCHBOARD_URL";

describe("the CLI and a plain http:// SWITCHBOARD_URL", () => {
  it("warns when the host is not loopback, naming the URL without its credentials", async () => {
    const text = await stderrOf("http://ops:hunter2@gateway.invalid:43400");
    expect(text.split("\n")[0]).toBe(`switchboard: warning: http://…@gateway.invalid:43400 ${WARNING}`);
    expect(text).not.toContain("hunter2");
  }, 20_000);

  it("says nothing for loopback addresses or https://", async () => {
    for (const url of ["http://127.0.0.1:43401", "http://localhost:43401", "http://[::1]:43401", "https://gateway.invalid:43400"]) {
      expect(await stderrOf(url)).not.toContain("warning");
    }
  }, 40_000);
});
