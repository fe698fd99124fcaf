// VAULT_CACERT, as the Transit KEK reads it, is read as every file an
// operator names (common/regular-file.ts): a regular file of at most a TLS
// file's bound, else a clear refusal naming the variable. Before, a directory
// failed with a bare EISDIR, a huge file was held whole, and a named pipe
// hung the first db: secret call (audit secrets: issue 16 / 10).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { TLS_FILE_MAX_BYTES } from "../../src/config/config.js";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import type { VaultClient } from "../../src/secrets/vault-client.js";
import { tempDir } from "../support/stores.js";

const vault = {} as VaultClient;

function transitKekWith(caCertFile: string): TransitKek {
  return new TransitKek(vault, { address: "https://127.0.0.1:8200", mount: "transit", key: "switchboard", timeoutMs: 1_000, caCertFile });
}

describe("the Transit KEK's VAULT_CACERT", () => {
  const dir = tempDir("sb-transit-cacert-");

  it("that is a directory is refused as not a regular file", () => {
    const path = join(dir, "certs");
    mkdirSync(path);
    expect(() => transitKekWith(path)).toThrow(new ConfigError("environment", "VAULT_CACERT", `"${path}" is a directory, not a regular file`));
  });

  it("larger than a TLS file's bound is refused unread", () => {
    const path = join(dir, "huge.pem");
    writeFileSync(path, Buffer.alloc(TLS_FILE_MAX_BYTES + 1, 0x41));
    expect(() => transitKekWith(path)).toThrow(`environment: VAULT_CACERT: "${path}" is larger than ${TLS_FILE_MAX_BYTES} bytes`);
  });

  it("that is missing is named with its code", () => {
    const path = join(dir, "missing.pem");
    expect(() => transitKekWith(path)).toThrow(`environment: VAULT_CACERT: "${path}" cannot be read (ENOENT)`);
  });
});
