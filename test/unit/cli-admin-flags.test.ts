// The CLI shows a read-only admin key as such (it printed `ADMIN yes`, and
// --json had no adminReadOnly), can make one (--admin-read-only), and
// refuses a number or time the request could not even carry (an --rpm past
// int32, a --since before year 1) with exit code 2 before calling the
// gateway, instead of "Internal: serialize binary …" and a hint that the
// gateway may not be running; and an --economy with more than one "=", of
// which it kept the first two parts.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/admin-client.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { usageCommand } from "../../src/cli/usage-command.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

function io(url: string): CliIo & { stdout: Capture; stderr: Capture } {
  return { stdout: new Capture(), stderr: new Capture(), env: { SWITCHBOARD_ADMIN_KEY: MASTER_KEY, SWITCHBOARD_URL: url } };
}

/** No gateway listens here (port 1: one in the ephemeral range could be any test server's): the checks under test come before any connection. */
const NOWHERE = "http://127.0.0.1:1";

describe("the CLI's admin flags", () => {
  it("refuses numbers and times a request cannot carry, with exit code 2 and no call", async () => {
    const cases: [(out: CliIo) => Promise<number>, string][] = [
      [(out) => keysCommand(["update", "user-alpha", "--rpm", "99999999999"], out), "switchboard: --rpm: 99999999999 is more than the largest the gateway takes, 2147483647 (or 0 for unlimited)\n"],
      [(out) => usageCommand(["--since", "99999999999999999999999d"], out), 'switchboard: --since: "99999999999999999999999d" is outside the times the gateway takes, 0001-01-01 to 9999-12-31\n'],
      [(out) => usageCommand(["--until", "+275760-09-13T00:00:00Z"], out), 'switchboard: --until: "+275760-09-13T00:00:00Z" is outside the times the gateway takes, 0001-01-01 to 9999-12-31\n'],
      [(out) => keysCommand(["update", "user-alpha", "--expires", "9999999999999999d"], out), 'switchboard: --expires: "9999999999999999d" is longer than any expiry the gateway takes (at most 100 years)\n'],
      [(out) => keysCommand(["update", "user-alpha", "--admin", "--admin-read-only"], out), "switchboard: --admin and --admin-read-only cannot be combined: choose one\n"],
      // "=c" was dropped: the key got gpt-4o=gpt-4o-mini.
      [(out) => keysCommand(["update", "user-alpha", "--economy", "gpt-4o=gpt-4o-mini=c"], out), 'switchboard: --economy: "gpt-4o=gpt-4o-mini=c" is not MODEL=ECONOMY_MODEL (one "=", a model on each side)\n'],
    ];
    for (const [command, message] of cases) {
      const cli = io(NOWHERE);
      expect(await command(cli)).toBe(2);
      expect(cli.stderr.text).toBe(message);
    }
    // The largest rpm still goes out (and meets no gateway here).
    const cli = io(NOWHERE);
    expect(await keysCommand(["update", "user-alpha", "--rpm", "2147483647"], cli)).toBe(1);
    expect(cli.stderr.text).toContain("is the gateway running");
  });

  describe("against a gateway", () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({});
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it("makes a read-only admin key with --admin-read-only, shows it as read-only, and --admin makes it a full one", async () => {
      const created = io(gw.url);
      expect(await keysCommand(["create", "--name", "auditor", "--id", "ro-admin", "--admin-read-only", "--json"], created)).toBe(0);
      expect(JSON.parse(created.stdout.text)).toMatchObject({ id: "ro-admin", admin: true, adminReadOnly: true });

      const shown = io(gw.url);
      expect(await keysCommand(["get", "ro-admin"], shown)).toBe(0);
      const [header, row] = shown.stdout.text.split("\n");
      expect(row!.slice(header!.indexOf("ADMIN")).split(/\s+/)[0]).toBe("read-only");

      const widened = io(gw.url);
      expect(await keysCommand(["update", "ro-admin", "--admin", "--json"], widened)).toBe(0);
      expect(JSON.parse(widened.stdout.text)[0]).toMatchObject({ admin: true, adminReadOnly: false });

      const listed = io(gw.url);
      expect(await keysCommand(["list", "--json"], listed)).toBe(0);
      expect(JSON.parse(listed.stdout.text).find((key: { id: string }) => key.id === "ro-admin")).toMatchObject({ admin: true, adminReadOnly: false });
    });
  });
});
