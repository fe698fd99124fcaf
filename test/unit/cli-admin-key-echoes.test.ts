// The CLI cut the admin key out of the errors it prints only as written: an endpoint (a wrong
// SWITCHBOARD_URL, an intercepting proxy) that echoed it lower-cased, hex or base64 had it printed to the
// terminal and the CI log. And its "is the gateway running at …" hint printed a token in SWITCHBOARD_URL's query.
import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { runCli, type CliIo } from "../../src/cli/admin-client.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

const KEY = "sk-sb-ADMINadminADMIN0123456789zyxwvuQ";
/** No gateway listens here (port 1: one in the ephemeral range could be any test server's): runCli is handed the failure. */
const NOWHERE = "http://127.0.0.1:1";

async function printed(message: string, code: Code, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const io: CliIo & { stderr: Capture } = { stdout: new Capture(), stderr: new Capture(), env: { SWITCHBOARD_ADMIN_KEY: KEY, SWITCHBOARD_URL: NOWHERE, ...env } };
  expect(await runCli(io, async () => Promise.reject(new ConnectError(message, code)))).toBe(1);
  return io.stderr.text;
}

describe("the admin key in a CLI error", () => {
  it("is cut out in any case, hex, base64 or a long piece of it, and keeps the rest of the message", async () => {
    const hex = Buffer.from(KEY).toString("hex");
    const base64 = Buffer.from(`Bearer ${KEY}`).toString("base64");
    // A piece is cut from past the key's vendor prefix ("sk-sb-", which every gateway key shares): what of the prefix it holds may stay.
    const text = await printed(`unknown key ${KEY.toLowerCase()} (hex ${hex}; HEX ${hex.toUpperCase()}; sent ${base64}; cut ${KEY.slice(3, 20)}) for keys/ci-bot`, Code.Unauthenticated);
    const lower = text.toLowerCase();
    for (const form of [KEY, hex, base64, KEY.slice(3, 20)]) expect(lower).not.toContain(form.toLowerCase());
    expect(text).toMatch(/^switchboard: Unauthenticated: unknown key \[redacted\] \(hex \[redacted\]; HEX \[redacted\]; sent \S*\[redacted\]\S*; cut (sb-)?\[redacted\]\) for keys\/ci-bot\n/);
  });

  it("as written is still named for what it is", async () => {
    expect(await printed(`upstream said Bearer ${KEY} is wrong`, Code.Unknown)).toContain("Bearer [admin key] is wrong");
  });
});

describe("SWITCHBOARD_URL in the CLI's hint", () => {
  it("shows neither a user and password nor a query", async () => {
    const text = await printed("fetch failed", Code.Unavailable, { SWITCHBOARD_URL: "https://ops:hunter2secret@gw.example:8443/admin/?token=q-s3cret-token#frag" });
    expect(text).toContain("(is the gateway running at https://…@gw.example:8443/admin/?…? set SWITCHBOARD_URL)");
    expect(text).not.toMatch(/hunter2secret|q-s3cret-token|frag/);
  });
});
