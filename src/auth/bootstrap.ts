import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { generateGatewayKey, KeyHasher } from "./gateway-key.js";

/** An HMAC key shorter than this is guessable; the generated pepper file has 32 bytes. */
const MIN_PEPPER_BYTES = 16;

export interface AuthBootstrap {
  hasher: KeyHasher;
  masterDigest: Buffer;
  /** Set only when a master key was generated on this start, to be shown once. */
  generatedMasterKey?: string;
}

/**
 * The pepper and the master key's digest. The pepper comes from
 * `SWITCHBOARD_PEPPER` or a file created once under the data directory. The
 * master key comes from `SWITCHBOARD_MASTER_KEY`; without it, a key is
 * generated at first start and only its digest is kept.
 */
export function bootstrapAuth(dataDir: string, env: NodeJS.ProcessEnv): AuthBootstrap {
  const pepper = env.SWITCHBOARD_PEPPER ? Buffer.from(env.SWITCHBOARD_PEPPER, "utf8") : readOrCreate(join(dataDir, "pepper"), () => randomBytes(32));
  if (pepper.length < MIN_PEPPER_BYTES) {
    const [source, field] = env.SWITCHBOARD_PEPPER ? ["environment", "SWITCHBOARD_PEPPER"] : [join(dataDir, "pepper"), ""];
    throw new ConfigError(source, field, `must be at least ${MIN_PEPPER_BYTES} bytes, got ${pepper.length}`);
  }
  const hasher = new KeyHasher(pepper);
  const masterKey = env.SWITCHBOARD_MASTER_KEY;
  if (masterKey) return { hasher, masterDigest: hasher.digest(masterKey) };

  const digestFile = join(dataDir, "master-key.digest");
  const existing = readIfExists(digestFile);
  if (existing) return { hasher, masterDigest: Buffer.from(existing.toString("utf8").trim(), "hex") };
  const generated = generateGatewayKey();
  const masterDigest = hasher.digest(generated);
  writeAtomically(digestFile, Buffer.from(masterDigest.toString("hex") + "\n"));
  return { hasher, masterDigest, generatedMasterKey: generated };
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
 * The notice to log when `SWITCHBOARD_MASTER_KEY` takes the place of a master
 * key generated at an earlier start: while the variable is set, the generated
 * key (whose digest stays in `master-key.digest`) is refused. Returned once per
 * data directory and key (`master-key.replaced` remembers it has been said);
 * undefined otherwise, and when the variable holds the generated key itself.
 * Call it after `bootstrapAuth`.
 */
export function masterKeyReplacementNotice(dataDir: string, env: NodeJS.ProcessEnv): string | undefined {
  const masterKey = env.SWITCHBOARD_MASTER_KEY;
  const digestFile = join(dataDir, "master-key.digest");
  const generated = masterKey ? readIfExists(digestFile)?.toString("utf8").trim() : undefined;
  if (!masterKey || !generated) return undefined;
  const digest = bootstrapAuth(dataDir, env).masterDigest.toString("hex");
  if (digest === generated) return undefined;
  const said = join(dataDir, "master-key.replaced");
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
