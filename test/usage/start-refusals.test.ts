// What an operator must fix before the gateway can start with its store and ledger is said in one line, as a
// configuration error (exit 78), never as a stack trace: another pepper, a SQLite file in use by another process,
// a data directory or journal directory the gateway cannot write.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnGateway } from "../support/gateway-process.js";
import { tempDir } from "../support/stores.js";
import { mountTmpfs } from "../support/tmpfs.js";

const BASE_ENV = { SWITCHBOARD_MASTER_KEY: "sk-test-refusals-master", OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: "http://127.0.0.1:9" };

/** Starts the real CLI and expects it to refuse: exit 78 and one line saying `problem`. */
async function refused(env: Record<string, string>, problem: RegExp): Promise<void> {
  const gateway = spawnGateway({ ...BASE_ENV, ...env });
  const code = await gateway.exited;
  const output = gateway.output().trim();
  expect(code, output).toBe(78);
  // Beside the log lines of what started before it (JSON), one line: no stack trace.
  expect(output.split("\n").filter((line) => !line.startsWith("{"))).toEqual([expect.stringMatching(/^switchboard: configuration error: /)]);
  expect(output).toMatch(problem);
}

/** A path under a regular file: no directory can be made there. */
function underAFile(): string {
  const file = join(tempDir("sb-refusals-"), "a-file");
  writeFileSync(file, "");
  return join(file, "dir");
}

describe("refusals at start", { timeout: 120_000 }, () => {
  it("a store whose gateway keys were hashed under another pepper", async () => {
    const dataDir = tempDir("sb-refusals-");
    const first = spawnGateway({ ...BASE_ENV, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_PEPPER: "the-pepper-of-the-first-start-0123" });
    await first.listening();
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    await refused(
      { SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_PEPPER: "another-pepper-entirely-0123456789" },
      /SWITCHBOARD_PEPPER: the sqlite store's gateway keys were hashed under another pepper/,
    );
  });

  it("a SQLite file another live process holds", async () => {
    const dataDir = tempDir("sb-refusals-");
    // This test's process stands in for another gateway.
    writeFileSync(join(dataDir, "switchboard.db.owner"), `${process.pid}\n`);
    await refused({ SWITCHBOARD_DATA_DIR: dataDir }, new RegExp(`switchboard\\.db: in use by process ${process.pid}: one gateway per SQLite file`));
  });

  it("a data directory that cannot be made", async () => {
    await refused({ SWITCHBOARD_DATA_DIR: underAFile() }, /switchboard\.db: cannot be written \(ENOTDIR.*\): the data directory \(SWITCHBOARD_DATA_DIR\) must be writable/);
  });

  it("a journal directory that cannot be made", async () => {
    const dataDir = tempDir("sb-refusals-");
    const configFile = join(dataDir, "switchboard.yaml");
    const journalDir = underAFile();
    writeFileSync(configFile, `ledger:\n  journal_dir: ${journalDir}\n`);
    await refused({ SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_CONFIG: configFile }, /cannot hold the usage ledger journal \(ledger\.journal_dir must be a writable directory\): ENOTDIR/);
  });

  it("a default economy model that is not cheaper than the model it stands in for", async () => {
    const dataDir = tempDir("sb-refusals-");
    const configFile = join(dataDir, "switchboard.yaml");
    // The catalogue's prices: gpt-4o costs more than gpt-4o-mini per input and per output token.
    writeFileSync(configFile, "keys:\n  defaults:\n    economy_models:\n      gpt-4o: gpt-4o-mini\n      gpt-4o-mini: gpt-4o\n");
    await refused(
      { SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_CONFIG: configFile },
      /config: keys\.defaults\.economy_models\.gpt-4o-mini: "gpt-4o" is not cheaper than "gpt-4o-mini" \(2\.5\/10 USD per million input\/output tokens against 0\.15\/0\.6 USD/,
    );
  });

  const readOnly = mountTmpfs(256, { readOnly: true });
  afterAll(() => readOnly?.unmount());
  it.skipIf(!readOnly)("a read-only data directory (a read-only tmpfs; needs root)", async () => {
    await refused({ SWITCHBOARD_DATA_DIR: readOnly!.dir, SWITCHBOARD_PEPPER: "the-pepper-of-the-first-start-0123" }, /switchboard\.db: cannot be written \(EROFS/);
  });

  it("a data directory where the pepper file cannot be made (workers on Postgres make it first)", async () => {
    await refused(
      { SWITCHBOARD_DATA_DIR: underAFile(), SWITCHBOARD_WORKERS: "2", DATABASE_URL: "postgres://127.0.0.1:9/never" },
      /cannot write the data directory \(SWITCHBOARD_DATA_DIR must be a writable directory\): ENOTDIR/,
    );
  });
});
