import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bootstrapAuth, keepGeneratedMasterKey, masterKeyReplacementNotice, MIN_MASTER_KEY_CHARS, SHARED_STORE_NEEDS_MASTER_KEY, weakMasterKeyNotice } from "../../src/auth/bootstrap.js";
import { ConfigError } from "../../src/config/config-error.js";

/** A first start that succeeded: the generated key is kept, and its digest saved. */
function generateAndKeep(dir: string): string {
  const generated = bootstrapAuth(dir, {}).generatedMasterKey!;
  keepGeneratedMasterKey(dir, generated, () => {});
  return generated.key;
}

describe("SWITCHBOARD_MASTER_KEY set after a master key was generated", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-master-key-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("is said once: the generated key is refused while the variable is set", () => {
    const dir = dataDir();
    const generated = generateAndKeep(dir);
    const env = { SWITCHBOARD_MASTER_KEY: "sk-set-later" };
    const auth = bootstrapAuth(dir, env);
    expect(auth.masterDigest.equals(auth.hasher.digest(generated))).toBe(false);

    const notice = masterKeyReplacementNotice(dir, env);
    expect(notice).toContain(`replaces the master key generated at an earlier start (digest in ${join(dir, "master-key.digest")})`);
    expect(notice).not.toContain("sk-set-later");
    expect(notice).not.toContain(generated);
    expect(masterKeyReplacementNotice(dir, env)).toBeUndefined();
    // Another key replaces it anew, and says so.
    expect(masterKeyReplacementNotice(dir, { SWITCHBOARD_MASTER_KEY: "sk-set-again" })).toContain("replaces the master key");
  });

  it("says nothing when the variable holds the generated key, when nothing was generated, or when it is unset", () => {
    const dir = dataDir();
    const generated = generateAndKeep(dir);
    expect(masterKeyReplacementNotice(dir, { SWITCHBOARD_MASTER_KEY: generated })).toBeUndefined();
    expect(masterKeyReplacementNotice(dir, {})).toBeUndefined();
    const fresh = dataDir();
    bootstrapAuth(fresh, { SWITCHBOARD_MASTER_KEY: "sk-from-the-start" });
    expect(masterKeyReplacementNotice(fresh, { SWITCHBOARD_MASTER_KEY: "sk-from-the-start" })).toBeUndefined();
  });
});

describe("a guessable SWITCHBOARD_MASTER_KEY", () => {
  it("is warned of at start, with how to make a strong one; a long or generated one is not", () => {
    expect(weakMasterKeyNotice({ SWITCHBOARD_MASTER_KEY: "a" })).toMatch(/^SWITCHBOARD_MASTER_KEY is 1 characters: .* at least 32 random ones \(openssl rand -base64 32\)/);
    expect(weakMasterKeyNotice({ SWITCHBOARD_MASTER_KEY: "k".repeat(MIN_MASTER_KEY_CHARS) })).toBeUndefined();
    expect(weakMasterKeyNotice({})).toBeUndefined();
  });
});

describe("no SWITCHBOARD_MASTER_KEY", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-master-key-"));
    dirs.push(dir);
    return dir;
  };

  it("generates one on the embedded SQLite store, the only instance on it, saved only when kept", () => {
    const dir = dataDir();
    const auth = bootstrapAuth(dir, {});
    expect(auth.generatedMasterKey!.key).toMatch(/^sk-/);
    // A start that fails after this point leaves nothing behind: the next one generates a key of its own.
    expect(existsSync(join(dir, "master-key.digest"))).toBe(false);
    expect(bootstrapAuth(dir, {}).generatedMasterKey!.key).not.toBe(auth.generatedMasterKey!.key);

    const shown: string[] = [];
    keepGeneratedMasterKey(dir, auth.generatedMasterKey, (key) => shown.push(key));
    expect(shown).toEqual([auth.generatedMasterKey!.key]);
    const next = bootstrapAuth(dir, {});
    expect(next.generatedMasterKey).toBeUndefined();
    expect(next.masterDigest.equals(next.hasher.digest(auth.generatedMasterKey!.key))).toBe(true);
  });

  it("takes the digest back when the key could not be handed over", () => {
    const dir = dataDir();
    const generated = bootstrapAuth(dir, {}).generatedMasterKey;
    expect(() =>
      keepGeneratedMasterKey(dir, generated, () => {
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(existsSync(join(dir, "master-key.digest"))).toBe(false);
    expect(bootstrapAuth(dir, {}).generatedMasterKey).toBeDefined();
  });

  it("is a configuration error on a Postgres store, as the pepper is: each instance would generate its own, refused by the others", () => {
    const dir = dataDir();
    const env = { DATABASE_URL: "postgres://switchboard@db/switchboard", SWITCHBOARD_PEPPER: "a-pepper-every-instance-shares-0123" };
    expect(() => bootstrapAuth(dir, env)).toThrow(ConfigError);
    expect(() => bootstrapAuth(dir, env)).toThrow(`environment: SWITCHBOARD_MASTER_KEY: ${SHARED_STORE_NEEDS_MASTER_KEY}`);
    expect(existsSync(join(dir, "master-key.digest"))).toBe(false);
    expect(bootstrapAuth(dir, { ...env, SWITCHBOARD_MASTER_KEY: "sk-set-on-every-instance" }).generatedMasterKey).toBeUndefined();
  });
});
