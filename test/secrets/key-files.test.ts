// The encrypted secrets file and its data key: a GCM tag cut short is not
// accepted (audit L3); a key file its group or others may read or write is
// warned about, and a key file is read 256 bytes at most (audit L9).
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { loadDataKey } from "../../src/secrets/data-key.js";
import { EncryptedFileStore, SecretStoreError } from "../../src/secrets/encrypted-file-store.js";
import { tempDir } from "../support/stores.js";

const DATA_KEY = Buffer.alloc(32, 9);

describe("the secrets file's authentication tag", () => {
  it("must be 16 bytes: one cut to 4 (32-bit authentication) is refused as corrupted", () => {
    const path = join(tempDir("sb-tag-"), "secrets.enc");
    new EncryptedFileStore(path, DATA_KEY).set("openai", "sk-tag-test-0123456789");
    expect(new EncryptedFileStore(path, DATA_KEY).get("openai")?.value).toBe("sk-tag-test-0123456789");
    const envelope = JSON.parse(readFileSync(path, "utf8"));
    envelope.tag = Buffer.from(envelope.tag, "base64").subarray(0, 4).toString("base64");
    writeFileSync(path, JSON.stringify(envelope));
    const reading = () => new EncryptedFileStore(path, DATA_KEY).get("openai");
    expect(reading).toThrow(SecretStoreError);
    expect(reading).toThrow("the secrets file is corrupted (its contents fail authentication: it was damaged or modified); restore it from a backup");
  });
});

describe("the key file", () => {
  function keyFile(contents: string | Buffer, mode: number): string {
    const path = join(tempDir("sb-keyfile-"), "data.key");
    writeFileSync(path, contents);
    chmodSync(path, mode);
    return path;
  }

  it("is warned about when its group or others may read or write it, not when only its owner may", () => {
    for (const [mode, warned] of [[0o644, true], [0o660, true], [0o602, true], [0o600, false], [0o400, false]] as const) {
      const warnings: string[] = [];
      const path = keyFile(`${DATA_KEY.toString("base64")}\n`, mode);
      expect(loadDataKey({}, path, (message) => warnings.push(message))).toEqual(DATA_KEY);
      expect(warnings.length).toBe(warned ? 1 : 0);
      if (warned) expect(warnings[0]).toBe(`${path}: the secrets key file may be read or written by its group or others (mode ${mode.toString(8).padStart(4, "0")}); make it 0400 or 0600`);
    }
  });

  it("is read 256 bytes at most: a longer file is refused as no data key", () => {
    const path = keyFile(`${DATA_KEY.toString("base64")}${" ".repeat(300)}`, 0o600);
    expect(() => loadDataKey({}, path)).toThrow(ConfigError);
    expect(() => loadDataKey({}, path)).toThrow(`${path}: is larger than 256 bytes: it is not a data key`);
  });

  it("pointed at /dev/zero, fails at once instead of reading until memory runs out", () => {
    expect(() => loadDataKey({}, "/dev/zero")).toThrow("/dev/zero: is a character device, not a regular file");
  });
});
