// A key file of 32 printable bytes is a password, not 32 random bytes: it is
// refused with a clear message instead of being taken as the AES key (audit
// secrets, small items).
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { loadDataKey } from "../../src/secrets/data-key.js";
import { tempDir } from "../support/stores.js";

function keyFile(contents: string | Buffer): string {
  const path = join(tempDir("sb-keyfile-text-"), "data.key");
  writeFileSync(path, contents, { mode: 0o600 });
  return path;
}

describe("a key file of 32 bytes", () => {
  it("holding text (a password, with or without a final line break) is refused, never echoed", () => {
    for (const password of ["a".repeat(32), "correct horse battery staple!!!\n", "Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4d!"]) {
      const path = keyFile(password);
      let error: unknown;
      try {
        loadDataKey({}, path);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `${path}: holds 32 characters of text (a password or passphrase?), not a data key: it must hold 32 random bytes, base64 or hex encoded (e.g. \`openssl rand -base64 32\`), or the 32 raw random bytes`,
      );
      expect((error as Error).message).not.toContain(password.trim());
    }
  });

  it("holding random bytes is still the raw key, as documented", () => {
    let key = randomBytes(32);
    while (key.every((byte) => byte >= 0x20 && byte <= 0x7e)) key = randomBytes(32);
    expect(loadDataKey({}, keyFile(key)).equals(key)).toBe(true);
  });
});
