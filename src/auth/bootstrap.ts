import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { generateGatewayKey, KeyHasher } from "./gateway-key.js";

/** An HMAC key shorter than this is guessable; the generated pepper file has 32 bytes. */
const MIN_PEPPER_BYTES = 16;

export interface AuthBootstrap {
  hasher: KeyHasher;
  masterDigest: Buffer;
  /** Set only when a master key was generated on this start: nothing of it is saved until `keepGeneratedMasterKey`. */
  generatedMasterKey?: GeneratedMasterKey;
}

/** A master key generated on this start, held in memory only (its digest is `masterDigest`). */
export interface GeneratedMasterKey {
  readonly key: string;
  readonly digest: Buffer;
}

/** Why a Postgres store needs SWITCHBOARD_PEPPER, and how to make one. */
export const SHARED_STORE_NEEDS_PEPPER =
  "is required with a Postgres store (DATABASE_URL): every instance needs the same pepper, and a pepper file in one instance's " +
  "data directory would be lost with it, and every gateway key with it. Make one with `openssl rand -base64 32` and set it on every instance";

/** Why a Postgres store needs SWITCHBOARD_MASTER_KEY: a generated one would be each instance's own. */
export const SHARED_STORE_NEEDS_MASTER_KEY =
  "is required with a Postgres store (DATABASE_URL): every instance sharing the database must accept the same master key, and a key " +
  "generated at start would be this instance's alone (its digest in this instance's data directory), refused by the others. Make one with " +
  "`openssl rand -base64 32` and set it on every instance (a key generated at an earlier start can be set here instead)";

/**
 * Whether this gateway would hash keys under the pepper file of its data
 * directory while sharing a Postgres store: allowed only where the database
 * already holds keys hashed under that file (checked by the usage system).
 * DATABASE_URL is what makes the store Postgres (usage-config.ts).
 */
export function usesFilePepperOnSharedStore(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.DATABASE_URL) && !env.SWITCHBOARD_PEPPER;
}

/**
 * The pepper and the master key's digest. The pepper comes from
 * `SWITCHBOARD_PEPPER` (its bytes as UTF-8, or `base64:` and the bytes in
 * base64), else from a file created once under the data directory: only with
 * the embedded SQLite store, which lives in that directory too. With Postgres
 * the file is never created (see SHARED_STORE_NEEDS_PEPPER). The master key
 * comes from `SWITCHBOARD_MASTER_KEY`; without it, with SQLite only, a key is
 * generated at first start (see SHARED_STORE_NEEDS_MASTER_KEY for Postgres):
 * only in memory, until `keepGeneratedMasterKey` saves its digest once the
 * start can no longer fail.
 */
export function bootstrapAuth(dataDir: string, env: NodeJS.ProcessEnv): AuthBootstrap {
  const pepper = env.SWITCHBOARD_PEPPER ? pepperFromEnv(env.SWITCHBOARD_PEPPER) : filePepper(dataDir, env);
  if (pepper.length < MIN_PEPPER_BYTES) {
    const [source, field] = env.SWITCHBOARD_PEPPER ? ["environment", "SWITCHBOARD_PEPPER"] : [join(dataDir, "pepper"), ""];
    throw new ConfigError(source, field, `must be at least ${MIN_PEPPER_BYTES} bytes, got ${pepper.length}`);
  }
  const hasher = new KeyHasher(pepper);
  const masterKey = env.SWITCHBOARD_MASTER_KEY;
  if (masterKey) return { hasher, masterDigest: hasher.digest(masterKey) };
  // DATABASE_URL is what makes the store Postgres (usage-config.ts), shared by every instance on it.
  if (env.DATABASE_URL) throw new ConfigError("environment", "SWITCHBOARD_MASTER_KEY", SHARED_STORE_NEEDS_MASTER_KEY);

  const existing = readIfExists(masterDigestFile(dataDir));
  if (existing) return { hasher, masterDigest: Buffer.from(existing.toString("utf8").trim(), "hex") };
  const key = generateGatewayKey();
  const masterDigest = hasher.digest(key);
  return { hasher, masterDigest, generatedMasterKey: { key, digest: masterDigest } };
}

/**
 * Saves the digest of a master key generated on this start, then hands the key
 * to the operator (`handOver`). Call it only once nothing can stop the start
 * (every check passed, the port bound): a digest saved by a start that then
 * failed would lock the admin API with a key no one was shown. A hand-over
 * that fails takes the digest back with it, so the next start generates anew.
 */
export function keepGeneratedMasterKey(dataDir: string, generated: GeneratedMasterKey | undefined, handOver: (key: string) => void): void {
  if (!generated) return;
  const digestFile = masterDigestFile(dataDir);
  writeAtomically(digestFile, Buffer.from(generated.digest.toString("hex") + "\n"));
  try {
    handOver(generated.key);
  } catch (err) {
    rmSync(digestFile, { force: true });
    throw err;
  }
}

function masterDigestFile(dataDir: string): string {
  return join(dataDir, "master-key.digest");
}

function pepperFromEnv(value: string): Buffer {
  if (!value.startsWith(BASE64_PREFIX)) return Buffer.from(value, "utf8");
  const encoded = value.slice(BASE64_PREFIX.length);
  const bytes = Buffer.from(encoded, "base64");
  // Node's decoder skips what is not base64: a value that does not come back the same was mistyped (or cut).
  if (bytes.toString("base64").replace(/=+$/, "") !== encoded.replace(/=+$/, "")) {
    throw new ConfigError("environment", "SWITCHBOARD_PEPPER", "starts with base64: but the rest is not base64");
  }
  return bytes;
}

const BASE64_PREFIX = "base64:";

/** The data directory's pepper file: made at first start for SQLite; with Postgres only read, where a fleet made one before. */
function filePepper(dataDir: string, env: NodeJS.ProcessEnv): Buffer {
  const path = join(dataDir, "pepper");
  if (!usesFilePepperOnSharedStore(env)) return readOrCreate(path, () => randomBytes(32));
  const existing = readIfExists(path);
  if (!existing) throw new ConfigError("environment", "SWITCHBOARD_PEPPER", SHARED_STORE_NEEDS_PEPPER);
  return existing;
}

/**
 * The warning to log once at start when keys in a Postgres store are hashed
 * under a pepper file (the start only gets this far when the database holds
 * keys under it): losing the file loses every key. Says how to move it into
 * SWITCHBOARD_PEPPER, never the pepper itself.
 */
export function filePepperNotice(dataDir: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!usesFilePepperOnSharedStore(env)) return undefined;
  const path = join(dataDir, "pepper");
  return (
    `the gateway keys in this Postgres database are hashed under the pepper file ${path}: if that file is lost (a pod's emptyDir, a new machine), ` +
    `no gateway key works again and no instance can start. Set SWITCHBOARD_PEPPER to its bytes on every instance: ` +
    `SWITCHBOARD_PEPPER="base64:$(base64 -w0 ${path})"`
  );
}

/** Characters below which a master key set by hand is called guessable at start (a generated one has 49). */
export const MIN_MASTER_KEY_CHARS = 32;

/**
 * The warning to log when `SWITCHBOARD_MASTER_KEY` is short enough to guess:
 * it opens the whole AdminService, and wrong keys are answered as fast as
 * they come. Kept a warning, not a refusal: short keys serve tests and
 * demos on loopback.
 */
export function weakMasterKeyNotice(env: NodeJS.ProcessEnv): string | undefined {
  const key = env.SWITCHBOARD_MASTER_KEY;
  if (!key || key.length >= MIN_MASTER_KEY_CHARS) return undefined;
  return `SWITCHBOARD_MASTER_KEY is ${key.length} characters: a master key opens the whole AdminService, so use at least ${MIN_MASTER_KEY_CHARS} random ones (openssl rand -base64 32), or leave it unset to have one generated`;
}

/**
 * Written in the data directory when a `SWITCHBOARD_MASTER_KEY` takes the
 * place of the generated master key (the digest of the variable's key, so the
 * notice is said once); it stays when the variable is unset again.
 */
export const MASTER_KEY_REPLACED_FILE = "master-key.replaced";

/**
 * The notice to log when `SWITCHBOARD_MASTER_KEY` takes the place of a master
 * key generated at an earlier start: while the variable is set, the generated
 * key (whose digest stays in `master-key.digest`) is refused. Returned once per
 * data directory and key (`master-key.replaced` remembers it has been said);
 * undefined otherwise, and when the variable holds the generated key itself.
 * Call it after `bootstrapAuth`.
 */
export function masterKeyReplacementNotice(dataDir: string, env: NodeJS.ProcessEnv): string | undefined {
  const masterKey = env.SWITCHBOARD_MASTER_KEY;
  const digestFile = masterDigestFile(dataDir);
  const generated = masterKey ? readIfExists(digestFile)?.toString("utf8").trim() : undefined;
  if (!masterKey || !generated) return undefined;
  const digest = bootstrapAuth(dataDir, env).masterDigest.toString("hex");
  if (digest === generated) return undefined;
  const said = join(dataDir, MASTER_KEY_REPLACED_FILE);
  if (readIfExists(said)?.toString("utf8").trim() === digest) return undefined;
  writeAtomically(said, Buffer.from(`${digest}\n`));
  return (
    `SWITCHBOARD_MASTER_KEY replaces the master key generated at an earlier start (digest in ${digestFile}): ` +
    `that key is refused while SWITCHBOARD_MASTER_KEY is set. Unset the variable to use the generated key again, ` +
    `or delete ${digestFile} to forget it. (Logged once.)`
  );
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function readOrCreate(path: string, make: () => Buffer): Buffer {
  const existing = readIfExists(path);
  if (existing) return existing;
  const value = make();
  writeAtomically(path, value);
  return value;
}

function writeAtomically(path: string, content: Buffer): void {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}
