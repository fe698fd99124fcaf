// The quick start's first `npm start` (no terminal) leaves its generated master key in
// ./data/master-key.generated; started again as the README shows, with SWITCHBOARD_MASTER_KEY, the gateway
// refuses that key. The CLI without an admin key still sent the user to the file: it now says that the
// variable's value is the master key while the gateway runs with it, and when the file's key holds again.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, expect, it } from "vitest";
import { bootstrapAuth, keepGeneratedMasterKey, masterKeyReplacementNotice } from "../../src/auth/bootstrap.js";
import { showGeneratedMasterKey } from "../../src/auth/generated-master-key-notice.js";
import type { CliIo } from "../../src/cli/admin-client.js";
import { keysCommand } from "../../src/cli/keys-command.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data directory as a gateway's starts leave it: the first without SWITCHBOARD_MASTER_KEY and without a terminal; then, with `masterKey`, one with it. */
function dataDirAfterStarts(masterKey?: string): { dir: string; generated: string } {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-cli-"));
  dirs.push(dir);
  let generated = "";
  keepGeneratedMasterKey(dir, bootstrapAuth(dir, {}).generatedMasterKey, (key) => {
    generated = key;
    showGeneratedMasterKey(dir, key, { isTTY: false, write: () => true });
  });
  if (masterKey) expect(masterKeyReplacementNotice(dir, { SWITCHBOARD_MASTER_KEY: masterKey })).toContain("replaces the master key generated");
  return { dir, generated };
}

async function keysList(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const io: CliIo & { stderr: Capture } = { stdout: new Capture(), stderr: new Capture(), env };
  const code = await keysCommand(["list"], io);
  return { code, stderr: io.stderr.text };
}

it("says that SWITCHBOARD_MASTER_KEY's value is the master key once the gateway has been started with it", async () => {
  const masterKey = "sk-test-master-0123456789abcdef";
  const { dir, generated } = dataDirAfterStarts(masterKey);
  const file = join(dir, "master-key.generated");
  const { code, stderr } = await keysList({ SWITCHBOARD_DATA_DIR: dir });
  expect(code).toBe(2);
  expect(stderr).toContain(`The gateway has been started with SWITCHBOARD_MASTER_KEY since it generated the master key in ${file}`);
  expect(stderr).toContain("export SWITCHBOARD_ADMIN_KEY='<the SWITCHBOARD_MASTER_KEY the gateway runs with>'");
  // The file's key is offered only for a gateway started without the variable.
  expect(stderr).toContain(`(started without the variable, it takes the generated key again: export SWITCHBOARD_ADMIN_KEY=$(cat ${file}))`);
  expect(stderr).not.toContain("delete that file");
  expect(stderr).not.toContain(generated);
  expect(stderr).not.toContain(masterKey);
});

it("still points at the generated key while the gateway has never been started with the variable", async () => {
  const { dir } = dataDirAfterStarts();
  const { stderr } = await keysList({ SWITCHBOARD_DATA_DIR: dir });
  expect(stderr).toContain(`The master key the gateway generated is in ${join(dir, "master-key.generated")}:\n  export SWITCHBOARD_ADMIN_KEY=$(cat `);
  expect(stderr).not.toContain("SWITCHBOARD_MASTER_KEY since");
});
