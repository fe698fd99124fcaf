import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { DATA_KEY_BYTES, loadDataKey, loadPreviousDataKeys } from "./data-key.js";
import { headerProblem, QUOTED_VALUE, wrappedInQuotes } from "./header-safe-secret.js";
import { acquireLockFile, LockBusyError } from "./lock-file.js";
import { secretNameProblem } from "./secret-name-problem.js";

/** One stored secret: its value and when it was last set. */
export interface StoredSecret {
  value: string;
  updatedAt: string;
}

/** A wrong key, a corrupted file or a file that cannot be read or written. The message never holds a secret. */
export class SecretStoreError extends ConfigError {
  constructor(path: string, problem: string) {
    super(path, "", problem);
    this.name = "SecretStoreError";
  }
}

/** Names as `file:NAME` references spell them (secret-name-problem.ts words a failing one, without quoting it). */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

const FORMAT = "switchboard-secrets";
const VERSION = 1;
const CIPHER = "aes-256-gcm";
const TAG_BYTES = 16;
/** A lock of a writer on another host (whose pid cannot be checked from here) is abandoned once untouched this long. */
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

export interface EncryptedFileStoreOptions {
  /** How long a write waits for another writer's lock before giving up; 5 s. */
  lockWaitMs?: number;
  /** Keys a rotation moved away from (SWITCHBOARD_SECRET_KEY_PREVIOUS): they still open the file, never write it. */
  previousKeys?: readonly Buffer[];
  /** Hears that the file was opened with a previous key (once per store), to be re-encrypted. */
  warn?: (message: string) => void;
}

/** What `rewrap` did: re-encrypted the file, found it under the current key already, or found no file. */
export interface RewrapResult {
  outcome: "rewrapped" | "current" | "no-file";
  /** How many secrets the file holds. */
  secrets: number;
}

/** The secrets, and whether the key that opened them is a previous one. */
interface Opened {
  secrets: Map<string, StoredSecret>;
  withPreviousKey: boolean;
}

interface Envelope {
  format: typeof FORMAT;
  version: typeof VERSION;
  cipher: typeof CIPHER;
  /** HMAC of a constant under the key: tells "wrong key" from "corrupted file" without revealing the key. */
  key_check: string;
  nonce: string;
  ciphertext: string;
  tag: string;
}

/**
 * The encrypted local secret store behind `file:NAME` references: one JSON
 * envelope holding every secret, encrypted together with AES-256-GCM under
 * the data key. Writes are atomic (temporary file, fsync, rename, fsync of
 * the directory) and serialised by a lock file (see lock-file.ts) that each
 * read-modify-write holds throughout, so a crash or a concurrent writer never
 * leaves a half-written store nor loses another's change; a wrong key or a
 * damaged file fails before anything is written.
 *
 * Rotating the key: the file opens under the current key or, failing that, a
 * previous one (with a warning); every write, and `rewrap`, encrypts it
 * under the current key.
 */
export class EncryptedFileStore {
  private cache: { ino: number; mtimeMs: number; size: number; secrets: Map<string, StoredSecret> } | undefined;
  private warnedOfPreviousKey = false;

  constructor(
    readonly path: string,
    private readonly key: Buffer,
    private readonly options: EncryptedFileStoreOptions = {},
  ) {
    for (const each of [key, ...(options.previousKeys ?? [])]) if (each.length !== DATA_KEY_BYTES) throw new Error(`the data key must be ${DATA_KEY_BYTES} bytes`);
  }

  /** The file's store with the keys from the environment: SWITCHBOARD_SECRET_KEY (or the key file) and SWITCHBOARD_SECRET_KEY_PREVIOUS. */
  static fromEnv(path: string, env: NodeJS.ProcessEnv, keyFile: string | undefined, warn: (message: string) => void): EncryptedFileStore {
    return new EncryptedFileStore(path, loadDataKey(env, keyFile, warn), { previousKeys: loadPreviousDataKeys(env), warn });
  }

  /** Every secret, by name; empty when the file does not exist yet. Re-read only when the file changed. */
  read(): Map<string, StoredSecret> {
    let stat;
    try {
      stat = statSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw new SecretStoreError(this.path, `cannot read the secrets file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    // Every write renames a new file in: another inode, even when the size and the (coarse) mtime are the same.
    const { ino, mtimeMs, size } = stat;
    if (this.cache && this.cache.ino === ino && this.cache.mtimeMs === mtimeMs && this.cache.size === size) return new Map(this.cache.secrets);
    const { secrets, withPreviousKey } = this.decrypt(this.readBytes());
    if (withPreviousKey && !this.warnedOfPreviousKey) {
      this.warnedOfPreviousKey = true;
      this.options.warn?.(
        `${this.path}: the secrets file was opened with a key from SWITCHBOARD_SECRET_KEY_PREVIOUS, not with SWITCHBOARD_SECRET_KEY (or the key file): re-encrypt it with the current key (\`switchboard secrets rewrap\`; any change written to it does too), then drop the old key from SWITCHBOARD_SECRET_KEY_PREVIOUS`,
      );
    }
    this.cache = { ino, mtimeMs, size, secrets };
    return new Map(secrets);
  }

  get(name: string): StoredSecret | undefined {
    return this.read().get(name);
  }

  /** Sets one secret; returns whether it replaced an existing one. */
  set(name: string, value: string, now = new Date()): boolean {
    const nameProblem = secretNameProblem(name);
    if (nameProblem) throw new SecretStoreError(this.path, nameProblem);
    if (value === "") throw new SecretStoreError(this.path, `the value for "${name}" is empty`);
    const problem = headerProblem(value);
    if (problem) throw new SecretStoreError(this.path, `the value for "${name}" ${problem}, so it cannot be sent as a vendor key (an HTTP header)`);
    if (wrappedInQuotes(value)) throw new SecretStoreError(this.path, `the value for "${name}" ${QUOTED_VALUE}`);
    return this.update((secrets) => {
      const existed = secrets.has(name);
      secrets.set(name, { value, updatedAt: now.toISOString() });
      return existed;
    });
  }

  /** Removes one secret; returns false (and writes nothing) when there was none by that name. */
  remove(name: string): boolean {
    return this.update((secrets) => secrets.delete(name), false);
  }

  /**
   * Re-encrypts the file under the current key (atomically, under the lock),
   * when a previous key is what opens it; a file the current key opens
   * already, or none at all, is left as it is. Fails, writing nothing, when
   * no key opens it.
   */
  rewrap(): RewrapResult {
    if (!existsSync(this.path)) return { outcome: "no-file", secrets: 0 };
    const release = this.lock();
    try {
      this.cache = undefined;
      const { secrets, withPreviousKey } = this.decrypt(this.readBytes());
      if (withPreviousKey) this.write(secrets);
      return { outcome: withPreviousKey ? "rewrapped" : "current", secrets: secrets.size };
    } finally {
      release();
    }
  }

  /** Reads, changes and atomically rewrites the store under the lock. `change` returns whether to write. */
  private update(change: (secrets: Map<string, StoredSecret>) => boolean, writeWhenFalse = true): boolean {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const release = this.lock();
    try {
      this.cache = undefined;
      // Decrypting first means a wrong key or a damaged file stops here, before anything is written.
      const secrets = this.read();
      const result = change(secrets);
      if (result || writeWhenFalse) this.write(secrets);
      return result;
    } finally {
      release();
    }
  }

  private write(secrets: Map<string, StoredSecret>): void {
    const keyCheck = keyCheckOf(this.key);
    const nonce = randomBytes(12);
    const cipher = createCipheriv(CIPHER, this.key, nonce);
    cipher.setAAD(aad(keyCheck));
    const plaintext = Buffer.from(JSON.stringify({ secrets: Object.fromEntries([...secrets].sort(([a], [b]) => a.localeCompare(b))) }), "utf8");
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    const envelope: Envelope = {
      format: FORMAT,
      version: VERSION,
      cipher: CIPHER,
      key_check: keyCheck,
      nonce: nonce.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
    const temporary = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, `${JSON.stringify(envelope, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      syncDirectory(dirname(this.path));
    } catch (err) {
      rmSync(temporary, { force: true });
      throw new SecretStoreError(this.path, `cannot write the secrets file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    this.cache = undefined;
  }

  private readBytes(): Buffer {
    try {
      return readFileSync(this.path);
    } catch (err) {
      throw new SecretStoreError(this.path, `cannot read the secrets file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }

  private decrypt(bytes: Buffer): Opened {
    const corrupted = (why: string) => new SecretStoreError(this.path, `the secrets file is corrupted (${why}); restore it from a backup`);
    let envelope: Partial<Envelope>;
    try {
      envelope = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw corrupted("not a switchboard secrets file");
    }
    if (envelope?.format !== FORMAT || typeof envelope.key_check !== "string" || typeof envelope.nonce !== "string" || typeof envelope.ciphertext !== "string" || typeof envelope.tag !== "string") {
      throw corrupted("not a switchboard secrets file");
    }
    if (envelope.version !== VERSION || envelope.cipher !== CIPHER) throw corrupted(`unknown format version ${String(envelope.version)}`);
    const previousKeys = this.options.previousKeys ?? [];
    const key = [this.key, ...previousKeys].find((candidate) => keyCheckOf(candidate) === envelope.key_check);
    if (!key) {
      throw new SecretStoreError(
        this.path,
        previousKeys.length === 0
          ? "wrong data key: SWITCHBOARD_SECRET_KEY (or the key file) is not the key this secrets file was written with (after a key rotation, put the old key in SWITCHBOARD_SECRET_KEY_PREVIOUS)"
          : "wrong data key: neither SWITCHBOARD_SECRET_KEY (or the key file) nor any key in SWITCHBOARD_SECRET_KEY_PREVIOUS is the key this secrets file was written with",
      );
    }
    let plaintext: Buffer;
    try {
      // The tag is 16 bytes, pinned: GCM would otherwise check a cut one (4 bytes: 32-bit authentication).
      const tag = Buffer.from(envelope.tag, "base64");
      if (tag.length !== TAG_BYTES) throw new Error("short tag");
      const decipher = createDecipheriv(CIPHER, key, Buffer.from(envelope.nonce, "base64"), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(envelope.key_check));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, "base64")), decipher.final()]);
    } catch {
      throw corrupted("its contents fail authentication: it was damaged or modified");
    }
    try {
      const parsed = JSON.parse(plaintext.toString("utf8")) as { secrets: Record<string, StoredSecret> };
      return { secrets: new Map(Object.entries(parsed.secrets)), withPreviousKey: key !== this.key };
    } catch {
      throw corrupted("its decrypted contents are not valid");
    } finally {
      plaintext.fill(0);
    }
  }

  /** The lock file beside the store, held by one writer at a time. */
  private lock(): () => void {
    const lockPath = `${this.path}.lock`;
    try {
      return acquireLockFile(lockPath, { waitMs: this.options.lockWaitMs ?? LOCK_WAIT_MS, staleMs: LOCK_STALE_MS });
    } catch (err) {
      if (err instanceof LockBusyError) throw new SecretStoreError(this.path, `another writer (${err.holder}) holds ${lockPath}; try again`);
      throw new SecretStoreError(this.path, `cannot lock the secrets file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
}

/** HMAC of a constant under the key: which key wrote the file, without revealing it. */
function keyCheckOf(key: Buffer): string {
  return createHmac("sha256", key).update("switchboard-secrets key check v1").digest("hex").slice(0, 16);
}

function aad(keyCheck: string): Buffer {
  return Buffer.from(`${FORMAT}/v${VERSION}/${keyCheck}`, "utf8");
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
