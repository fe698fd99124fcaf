import type { SqlDatabase, SqlExecutor } from "../store/sql.js";
import { num } from "../store/sql.js";
import { fingerprint } from "./credential.js";
import { DataKeyMissingError, HOW_TO_MAKE_DATA_KEY } from "./data-key.js";
import { openSecret, sealSecret, secretContext } from "./db-secret-envelope.js";
import { SECRET_NAME } from "./encrypted-file-store.js";
import { headerProblem, QUOTED_VALUE, wrappedInQuotes } from "./header-safe-secret.js";
import { KekError, type KeyEncryptionKey } from "./kek.js";
import { MAX_VALUE_BYTES } from "./secret-value-limit.js";

/** What an operator sees of one stored version: never the value. */
export interface StoredVersion {
  name: string;
  version: number;
  fingerprint: string;
  /** The key-encryption key (and version) its data key is wrapped with. */
  kek: string;
  createMs: number;
  createdBy: string;
}

/** A stored secret: its latest version, and how many it keeps. */
export interface StoredSecretSummary {
  name: string;
  latest: StoredVersion;
  versions: number;
  createMs: number;
}

/** How a rewrap went: data keys moved to the current KEK version, and those already on it. */
export interface RewrapResult {
  kek: string;
  rewrapped: number;
  unchanged: number;
  /** Rows changed under the rewrap (a version removed meanwhile): left as they were. */
  skipped: number;
}

/** A refusal of the store; `code` maps to a Connect code, and the message holds no secret. */
export class DbSecretError extends Error {
  constructor(
    readonly code: "not_found" | "already_exists" | "invalid_argument" | "failed_precondition" | "unavailable",
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "DbSecretError";
  }
}

/** Writers racing on one name each seal again for the next number; this many losses in a row is given up on. */
const MAX_WRITE_ATTEMPTS = 5;

/** A name's version counter as read before sealing. */
interface Counter {
  lastVersion: number;
  /** Not removed, and holding a version. */
  live: boolean;
}

/** The version a write seals for, and how it claims the number: no row changed means another writer claimed it first. */
interface VersionClaim {
  version: number;
  claim: (tx: SqlExecutor) => Promise<number>;
}

/**
 * `db:NAME`: vendor keys kept in the gateway's own store (SQLite, or the
 * Postgres every instance shares), with envelope encryption: each version
 * is encrypted with its own data key (AES-256-GCM, name and version as
 * associated data), and the data key is wrapped by the key-encryption key
 * (local, Vault Transit or AWS KMS). Rows hold ciphertext, wrapped keys and
 * fingerprints only. Versions only grow; every version is kept until the
 * secret is removed.
 */
export class DbSecretStore {
  private kekInstance: KeyEncryptionKey | undefined;

  constructor(
    private readonly db: SqlDatabase,
    /** Built on first use, so a gateway with no `db:` secret needs no key-encryption key. */
    private readonly openKek: () => KeyEncryptionKey,
  ) {}

  /** Stores version 1 of a new secret (or the next version of one removed earlier). */
  async create(name: string, value: string, actor: string, now = Date.now()): Promise<StoredVersion> {
    checkName(name);
    checkValue(value);
    const kek = this.kek();
    return this.write(kek, name, value, actor, now, (counter) => {
      if (counter?.live) throw new DbSecretError("already_exists", `a secret named "${name}" exists already: add a version with \`switchboard secrets rotate ${name} --store db\``);
      // A removed name goes on counting: canary verdicts on its old versions never apply to new ones.
      const version = (counter?.lastVersion ?? 0) + 1;
      const claim = counter
        ? (tx: SqlExecutor) =>
            tx.run("UPDATE stored_secrets SET last_version = $3, create_ms = $4, update_ms = $4, delete_ms = NULL WHERE name = $1 AND last_version = $2", [name, counter.lastVersion, version, now])
        : (tx: SqlExecutor) => tx.run("INSERT INTO stored_secrets (name, last_version, create_ms, update_ms) VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING", [name, version, now]);
      return { version, claim };
    });
  }

  /** Stores the next version of an existing secret: key pools stage it as a canary. */
  async addVersion(name: string, value: string, actor: string, now = Date.now()): Promise<StoredVersion> {
    checkName(name);
    checkValue(value);
    const kek = this.kek();
    return this.write(kek, name, value, actor, now, (counter) => {
      if (!counter?.live) throw new DbSecretError("not_found", `no secret named "${name}": create it with \`switchboard secrets set ${name} --store db\``);
      const version = counter.lastVersion + 1;
      const claim = (tx: SqlExecutor) => tx.run("UPDATE stored_secrets SET last_version = $3, update_ms = $4 WHERE name = $1 AND last_version = $2 AND delete_ms IS NULL", [name, counter.lastVersion, version, now]);
      return { version, claim };
    });
  }

  /** The value of the latest version, or of the one asked for. */
  async read(name: string, version?: number): Promise<{ value: string; version: number }> {
    const rows =
      version === undefined
        ? await this.db.query("SELECT version, ciphertext, wrapped_key, kek FROM stored_secret_versions WHERE name = $1 ORDER BY version DESC LIMIT 1", [name])
        : await this.db.query("SELECT version, ciphertext, wrapped_key, kek FROM stored_secret_versions WHERE name = $1 AND version = $2", [name, version]);
    const row = rows[0];
    if (!row) {
      throw new DbSecretError("not_found", version === undefined ? `no secret named "${name}" in the database store` : `the database store has no version ${version} of "${name}"`);
    }
    const at = num(row.version);
    const value = await openSecret(this.kek(), name, at, { ciphertext: String(row.ciphertext), wrapped: { kek: String(row.kek), blob: String(row.wrapped_key) } });
    if (value === undefined) throw new DbSecretError("failed_precondition", `version ${at} of "${name}" fails authentication: the row was damaged, or copied from another secret or version`);
    return { value, version: at };
  }

  /** The latest version of each name that has one. */
  async latestVersions(names: readonly string[]): Promise<Map<string, number>> {
    if (names.length === 0) return new Map();
    const params = names.map((_, i) => `$${i + 1}`).join(", ");
    const rows = await this.db.query(`SELECT name, MAX(version) AS version FROM stored_secret_versions WHERE name IN (${params}) GROUP BY name`, names);
    return new Map(rows.map((row) => [String(row.name), num(row.version)]));
  }

  /** Every stored secret with its latest version (fingerprints, never values), by name. */
  async list(): Promise<StoredSecretSummary[]> {
    const rows = await this.db.query(
      `SELECT v.name, v.version, v.fingerprint, v.kek, v.create_ms, v.created_by, s.create_ms AS secret_create_ms
       FROM stored_secret_versions v JOIN stored_secrets s ON s.name = v.name
       WHERE s.delete_ms IS NULL ORDER BY v.name, v.version`,
    );
    const byName = new Map<string, StoredSecretSummary>();
    for (const row of rows) {
      const version = toVersion(row);
      const summary = byName.get(version.name);
      if (summary) {
        summary.latest = version;
        summary.versions++;
      } else {
        byName.set(version.name, { name: version.name, latest: version, versions: 1, createMs: num(row.secret_create_ms) });
      }
    }
    return [...byName.values()];
  }

  /** Removes a secret and all its versions; false when there was none. Gateways serving it keep their copy until restarted. */
  async remove(name: string, now = Date.now()): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.run("UPDATE stored_secrets SET delete_ms = $2 WHERE name = $1 AND delete_ms IS NULL", [name, now]);
      if (changed === 0) return false;
      await tx.run("DELETE FROM stored_secret_versions WHERE name = $1", [name]);
      return true;
    });
  }

  /**
   * Moves every data key not wrapped with the KEK's current version (every
   * one, with `all`) to it, a row at a time, online: the secrets' ciphertext
   * is not touched, no value is decrypted, and a reader sees either wrapping,
   * both of which unwrap. A row that changed meanwhile is left alone.
   */
  async rewrap(options: { all?: boolean } = {}): Promise<RewrapResult> {
    const kek = this.kek();
    const current = await kek.current();
    const rows = await this.db.query("SELECT name, version, wrapped_key, kek FROM stored_secret_versions ORDER BY name, version");
    const result: RewrapResult = { kek: current, rewrapped: 0, unchanged: 0, skipped: 0 };
    for (const row of rows) {
      if (!options.all && row.kek === current) {
        result.unchanged++;
        continue;
      }
      const name = String(row.name);
      const version = num(row.version);
      const wrapped = await kek.rewrap({ kek: String(row.kek), blob: String(row.wrapped_key) }, secretContext(name, version));
      const changed = await this.db.run("UPDATE stored_secret_versions SET wrapped_key = $1, kek = $2 WHERE name = $3 AND version = $4 AND wrapped_key = $5", [
        wrapped.blob,
        wrapped.kek,
        name,
        version,
        String(row.wrapped_key),
      ]);
      if (changed === 1) result.rewrapped++;
      else result.skipped++;
    }
    return result;
  }

  close(): void {
    this.kekInstance?.close?.();
  }

  /**
   * Writes the next version of `name`: the value is sealed first (the KEK may be away: Transit not
   * enabled, KMS down), and only then, in one transaction, is the version number claimed and the row
   * inserted, so a failed seal leaves nothing behind, neither a name without versions nor a burnt
   * number. The seal binds the version number, read before it; the claim holds only if the counter
   * still reads as it did, else another writer got there first and the value is sealed again for
   * the next number. Nothing is held locked while Vault or AWS answers.
   */
  private async write(kek: KeyEncryptionKey, name: string, value: string, actor: string, now: number, plan: (counter: Counter | undefined) => VersionClaim): Promise<StoredVersion> {
    for (let attempt = 1; ; attempt++) {
      const { version, claim } = plan(await this.counter(name));
      const sealed = await sealSecret(kek, name, version, value);
      const stored: StoredVersion = { name, version, fingerprint: fingerprint(value), kek: sealed.wrapped.kek, createMs: now, createdBy: actor };
      const written = await this.db.transaction(async (tx) => {
        if ((await claim(tx)) === 0) return false;
        await tx.run(
          "INSERT INTO stored_secret_versions (name, version, ciphertext, wrapped_key, kek, fingerprint, create_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          [name, version, sealed.ciphertext, sealed.wrapped.blob, stored.kek, stored.fingerprint, now, actor],
        );
        return true;
      });
      if (written) return stored;
      if (attempt === MAX_WRITE_ATTEMPTS) throw new DbSecretError("unavailable", `"${name}" kept changing while this version was written (${MAX_WRITE_ATTEMPTS} tries): try again`);
    }
  }

  /**
   * A name's version counter, if it has one. A name without a version (left by a failed seal before
   * writes sealed first) is not live: it is listed and read as absent, so it is created as such.
   */
  private async counter(name: string): Promise<Counter | undefined> {
    const [row] = await this.db.query(
      "SELECT s.last_version, s.delete_ms, (SELECT COUNT(*) FROM stored_secret_versions v WHERE v.name = s.name) AS versions FROM stored_secrets s WHERE s.name = $1",
      [name],
    );
    if (!row) return undefined;
    return { lastVersion: num(row.last_version), live: (row.delete_ms === null || row.delete_ms === undefined) && num(row.versions) > 0 };
  }

  private kek(): KeyEncryptionKey {
    try {
      this.kekInstance ??= this.openKek();
    } catch (err) {
      throw new DbSecretError("failed_precondition", `the database store has no key-encryption key: ${whyNoKek(err)}`);
    }
    return this.kekInstance;
  }
}

/**
 * Why the KEK could not be built. A missing local key is the gateway's to have,
 * not the caller's (exporting it in the CLI's shell does nothing), and it is the
 * KEK here, not the encrypted file's key.
 */
function whyNoKek(err: unknown): string {
  if (err instanceof DataKeyMissingError) {
    return `this gateway was started without SWITCHBOARD_SECRET_KEY (the local key-encryption key of db: secrets): restart it with SWITCHBOARD_SECRET_KEY (or SWITCHBOARD_SECRET_KEY_FILE) set to ${HOW_TO_MAKE_DATA_KEY}, or with SWITCHBOARD_SECRET_KEK=vault-transit or aws-kms`;
  }
  return (err as Error).message;
}

/** Maps a KEK's failure (Vault or AWS away, a key it no longer has) to a refusal of the store. */
export function kekRefusal(err: unknown): DbSecretError | undefined {
  if (!(err instanceof KekError)) return undefined;
  return new DbSecretError(err.unreachable ? "unavailable" : "failed_precondition", `the key-encryption key refused: ${err.message}`);
}

function toVersion(row: Record<string, unknown>): StoredVersion {
  return {
    name: String(row.name),
    version: num(row.version),
    fingerprint: String(row.fingerprint),
    kek: String(row.kek),
    createMs: num(row.create_ms),
    createdBy: String(row.created_by),
  };
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new DbSecretError("invalid_argument", "must be 1-128 letters, digits, '.', '_', '/' or '-', starting with a letter or digit", "name");
}

function checkValue(value: string): void {
  // Never echo the value, not even a part of it.
  if (value === "") throw new DbSecretError("invalid_argument", "is empty", "value");
  if (Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) throw new DbSecretError("invalid_argument", `is longer than ${MAX_VALUE_BYTES} bytes`, "value");
  // Stored values are vendor keys, sent in a header: refused here rather than failing every call later.
  const problem = headerProblem(value);
  if (problem) throw new DbSecretError("invalid_argument", `${problem}, so it cannot be sent as a vendor key (an HTTP header); send the key alone`, "value");
  if (wrappedInQuotes(value)) throw new DbSecretError("invalid_argument", QUOTED_VALUE, "value");
}
