// Files an operator names (the config file, the TLS certificate and key, the
// secrets key file) are read only when regular, and only up to a bound: a
// named pipe with no writer used to hang start-up for ever, and a huge file
// was held whole.
import { execFileSync } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { readRegularFile } from "../../src/common/regular-file.js";
import { tempDir } from "../support/stores.js";

describe("readRegularFile", () => {
  it("reads a regular file, and one behind a link, whole", () => {
    const dir = tempDir("sb-regular-");
    const file = join(dir, "a.txt");
    writeFileSync(file, "x".repeat(100_000));
    symlinkSync(file, join(dir, "link"));
    expect(readRegularFile(file, 100_000).bytes.length).toBe(100_000);
    expect(readRegularFile(join(dir, "link"), 100_000).bytes.toString()).toBe("x".repeat(100_000));
  });

  it("refuses a named pipe, a directory and a device at once, naming what they are", () => {
    const dir = tempDir("sb-regular-");
    execFileSync("mkfifo", [join(dir, "pipe")]);
    expect(() => readRegularFile(join(dir, "pipe"), 10)).toThrow("is a named pipe (FIFO), not a regular file");
    expect(() => readRegularFile(dir, 10)).toThrow("is a directory, not a regular file");
    expect(() => readRegularFile("/dev/zero", 10)).toThrow("is a character device, not a regular file");
    expect(() => readRegularFile(join(dir, "none"), 10)).toThrow("cannot be read (ENOENT)");
  });

  it("refuses a file past the bound without holding it", () => {
    const dir = tempDir("sb-regular-");
    writeFileSync(join(dir, "big"), "x".repeat(11));
    expect(() => readRegularFile(join(dir, "big"), 10)).toThrow("is larger than 10 bytes");
  });

  it("makes the config file a named pipe a start-up error, not a hang", () => {
    const dir = tempDir("sb-regular-");
    const fifo = join(dir, "switchboard.yaml");
    execFileSync("mkfifo", [fifo]);
    expect(() => loadConfig({ SWITCHBOARD_CONFIG: fifo })).toThrow(`${fifo}: is a named pipe (FIFO), not a regular file`);
  });
});
