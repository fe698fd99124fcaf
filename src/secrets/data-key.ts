import { readFileSync } from "node:fs";
import { ConfigError } from "../config/config-error.js";

export const DATA_KEY_BYTES = 32;

const HOW_TO = "32 random bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)";

/**
 * The encrypted file's data key: SWITCHBOARD_SECRET_KEY, else the key file.
 * Either holds 32 bytes, base64 (standard or URL-safe) or hex encoded; a key
 * file may also hold the 32 raw bytes.
 */
export function loadDataKey(env: NodeJS.ProcessEnv, keyFile: string | undefined): Buffer {
  const fromEnv = env.SWITCHBOARD_SECRET_KEY;
  if (fromEnv) return decodeKey(fromEnv, "environment", "SWITCHBOARD_SECRET_KEY");
  if (keyFile) {
    let raw: Buffer;
    try {
      raw = readFileSync(keyFile);
    } catch (err) {
      throw new ConfigError(keyFile, "", `cannot read the secrets key file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    if (raw.length === DATA_KEY_BYTES) return raw;
    return decodeKey(raw.toString("utf8"), keyFile, "");
  }
  throw new ConfigError(
    "environment",
    "SWITCHBOARD_SECRET_KEY",
    `is not set: the encrypted secrets file needs a data key (set SWITCHBOARD_SECRET_KEY or SWITCHBOARD_SECRET_KEY_FILE / secrets.key_file to ${HOW_TO})`,
  );
}

function decodeKey(text: string, source: string, field: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64")
      : undefined;
  // Never echo the value: it is the key (or close to it).
  if (!key || key.length !== DATA_KEY_BYTES) throw new ConfigError(source, field, `is not a valid data key: it must be ${HOW_TO}`);
  return key;
}
