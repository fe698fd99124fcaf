import { readRegularFile, type FileRefused } from "../common/regular-file.js";
import { ConfigError } from "../config/config-error.js";
import { rememberOwnSecret } from "../providers/redact.js";

export const DATA_KEY_BYTES = 32;
/** The most a key file is read: a data key, encoded, with room for a line break (not /dev/zero until memory runs out). */
const KEY_FILE_MAX_BYTES = 256;

export const HOW_TO_MAKE_DATA_KEY = "32 random bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)";

/** Neither SWITCHBOARD_SECRET_KEY nor a key file was given: callers that need the key for something else than the file say so in their own words. */
export class DataKeyMissingError extends ConfigError {}

/**
 * The encrypted file's data key: SWITCHBOARD_SECRET_KEY, else the key file.
 * Either holds 32 bytes, base64 (standard or URL-safe) or hex encoded; a key
 * file may also hold the 32 raw bytes, unless they are all text (a password). `warn` hears of a key file others may read.
 */
export function loadDataKey(env: NodeJS.ProcessEnv, keyFile: string | undefined, warn: (message: string) => void = () => {}): Buffer {
  const fromEnv = env.SWITCHBOARD_SECRET_KEY;
  if (fromEnv) return remembered(decodeKey(fromEnv, "environment", "SWITCHBOARD_SECRET_KEY"), fromEnv);
  if (keyFile) {
    const raw = readKeyFile(keyFile, warn);
    if (raw.length === DATA_KEY_BYTES) {
      // 32 random bytes are all printable with odds of about 1e-14: 32 characters of text are a password, far weaker than an AES key.
      if (looksLikeText(raw)) throw new ConfigError(keyFile, "", `holds 32 characters of text (a password or passphrase?), not a data key: it must hold ${HOW_TO_MAKE_DATA_KEY}, or the 32 raw random bytes`);
      return remembered(raw);
    }
    return remembered(decodeKey(raw.toString("utf8"), keyFile, ""), raw.toString("utf8"));
  }
  throw new DataKeyMissingError(
    "environment",
    "SWITCHBOARD_SECRET_KEY",
    `is not set: the encrypted secrets file needs a data key (set SWITCHBOARD_SECRET_KEY or SWITCHBOARD_SECRET_KEY_FILE / secrets.key_file to ${HOW_TO_MAKE_DATA_KEY})`,
  );
}

/**
 * The keys in SWITCHBOARD_SECRET_KEY_PREVIOUS (comma-separated, each encoded
 * as SWITCHBOARD_SECRET_KEY is): the keys a rotation moved away from, which
 * still open what they encrypted until it is rewrapped (the database store's
 * data keys, the encrypted file). Redacted like the current key.
 */
export function loadPreviousDataKeys(env: NodeJS.ProcessEnv): Buffer[] {
  return (env.SWITCHBOARD_SECRET_KEY_PREVIOUS ?? "")
    .split(",")
    .map((text) => text.trim())
    .filter(Boolean)
    .map((text, index) => {
      try {
        return loadDataKey({ SWITCHBOARD_SECRET_KEY: text }, undefined);
      } catch {
        // Never echo the value: it is a key.
        throw new ConfigError("environment", "SWITCHBOARD_SECRET_KEY_PREVIOUS", `entry ${index + 1} is not a valid key: each must be 32 random bytes, base64 or hex encoded`);
      }
    });
}

/**
 * The key file's bytes, at most KEY_FILE_MAX_BYTES (more is refused: it is no
 * data key), from a regular file only (readRegularFile). A file that its group
 * or others may read or write is warned about, not refused: Kubernetes mounts
 * secrets 0644 unless told otherwise (`defaultMode: 0400`), and the container
 * usually runs one user.
 */
function readKeyFile(keyFile: string, warn: (message: string) => void): Buffer {
  let file: ReturnType<typeof readRegularFile>;
  try {
    file = readRegularFile(keyFile, KEY_FILE_MAX_BYTES);
  } catch (err) {
    const { refusal } = err as FileRefused;
    if (refusal.reason === "unreadable") throw new ConfigError(keyFile, "", `cannot read the secrets key file (${refusal.code})`);
    if (refusal.reason === "too_large") throw new ConfigError(keyFile, "", `is larger than ${KEY_FILE_MAX_BYTES} bytes: it is not a data key (${HOW_TO_MAKE_DATA_KEY})`);
    throw new ConfigError(keyFile, "", `is ${refusal.kind}, not a regular file: the secrets key file must be a file holding ${HOW_TO_MAKE_DATA_KEY}`);
  }
  if ((file.stat.mode & 0o077) !== 0) {
    warn(`${keyFile}: the secrets key file may be read or written by its group or others (mode ${(file.stat.mode & 0o777).toString(8).padStart(4, "0")}); make it 0400 or 0600`);
  }
  return file.bytes;
}

/** Whether every byte is printable ASCII or a tab or line break: what a typed password or passphrase is made of. */
function looksLikeText(bytes: Buffer): boolean {
  return bytes.every((byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0a || byte === 0x0d);
}

/** `key`, redacted from now on wherever vendor keys are (redact.ts): as written, and as base64 and hex. */
function remembered(key: Buffer, written?: string): Buffer {
  for (const form of [written?.trim(), key.toString("base64"), key.toString("hex")]) if (form) rememberOwnSecret(form);
  return key;
}

function decodeKey(text: string, source: string, field: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64")
      : undefined;
  // Never echo the value: it is the key (or close to it).
  if (!key || key.length !== DATA_KEY_BYTES) throw new ConfigError(source, field, `is not a valid data key: it must be ${HOW_TO_MAKE_DATA_KEY}`);
  return key;
}
