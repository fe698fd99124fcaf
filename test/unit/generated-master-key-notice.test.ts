import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GENERATED_MASTER_KEY_FILE, showGeneratedMasterKey } from "../../src/auth/generated-master-key-notice.js";

const KEY = `sk-sb-${"k".repeat(43)}`;

function fakeStderr(isTTY: boolean) {
  let written = "";
  return { isTTY, write: (chunk: string) => ((written += chunk), true), written: () => written };
}

describe("a generated master key is handed over once", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-generated-key-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("on a terminal: printed, and written nowhere", () => {
    const dir = dataDir();
    const stderr = fakeStderr(true);
    showGeneratedMasterKey(dir, KEY, stderr);
    expect(stderr.written()).toContain(`  ${KEY}\n`);
    expect(existsSync(join(dir, GENERATED_MASTER_KEY_FILE))).toBe(false);
  });

  it("without a terminal (collected logs): in a 0600 file whose path is printed, never the key", () => {
    const dir = dataDir();
    const file = join(dir, GENERATED_MASTER_KEY_FILE);
    writeFileSync(file, "an earlier key\n", { mode: 0o644 });
    const stderr = fakeStderr(false);
    showGeneratedMasterKey(dir, KEY, stderr);
    expect(stderr.written()).not.toContain("sk-sb-");
    expect(stderr.written()).toContain(file);
    expect(readFileSync(file, "utf8")).toBe(`${KEY}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("says nothing when no key was generated", () => {
    const dir = dataDir();
    const stderr = fakeStderr(false);
    showGeneratedMasterKey(dir, undefined, stderr);
    expect(stderr.written()).toBe("");
    expect(existsSync(join(dir, GENERATED_MASTER_KEY_FILE))).toBe(false);
  });
});
