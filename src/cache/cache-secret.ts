import { createHmac, hkdfSync } from "node:crypto";
import type { KeyHasher } from "../auth/gateway-key.js";
import { ConfigError } from "../config/config-error.js";

const MIN_SECRET_BYTES = 16;
/** Derived keys kept at once; past it the memo starts again (a partition's key costs one HKDF). */
const MEMO_LIMIT = 10_000;

/**
 * The label the root is derived from the pepper with. Gateway keys' digests
 * are HMACs under the same pepper, so the label is one no key can be: a NUL
 * cannot travel in a header, nor in SWITCHBOARD_MASTER_KEY. (Version 1 was a
 * plain string; entries written under it are simply no longer found.)
 */
const PEPPER_LABEL = "\0switchboard response cache root v2";

/**
 * The server secret behind the cache's names and encryption: entry ids and
 * purge tags are HMACs under it (a Redis dump cannot confirm a guessed
 * question, nor tell whose entries are whose), and each partition's entries
 * are sealed under its own AES-256 key, derived from it with HKDF.
 *
 * `SWITCHBOARD_CACHE_KEY` when set (the same on every instance sharing the
 * Redis); otherwise derived from the gateway-key pepper, which instances
 * sharing a store already hold in common. Rotating either empties the L2
 * cache in effect: old entries no longer open, and are treated as misses.
 */
export class CacheSecret {
  private readonly partitionKeys = new Map<string, Buffer>();
  private readonly tags = new Map<string, string>();

  constructor(private readonly root: Buffer) {
    if (root.length < MIN_SECRET_BYTES) throw new Error(`the cache secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }

  static fromEnv(env: NodeJS.ProcessEnv, hasher: KeyHasher): CacheSecret {
    const configured = env.SWITCHBOARD_CACHE_KEY;
    if (configured === undefined || configured === "") return new CacheSecret(hasher.digest(PEPPER_LABEL));
    const root = Buffer.from(configured, "utf8");
    if (root.length < MIN_SECRET_BYTES) throw new ConfigError("environment", "SWITCHBOARD_CACHE_KEY", `must be at least ${MIN_SECRET_BYTES} bytes, got ${root.length}`);
    return new CacheSecret(root);
  }

  /** An entry's id: a keyed hash of everything that makes its answer. */
  id(...parts: string[]): string {
    const mac = createHmac("sha256", this.root);
    for (const part of parts) mac.update(part, "utf8").update("\0");
    return mac.digest("base64url");
  }

  /** A short keyed name for a partition, provider or model in Redis key names, so purges can find them without naming them. */
  tag(kind: "partition" | "provider" | "model", value: string): string {
    const memo = `${kind}\0${value}`;
    let tag = this.tags.get(memo);
    if (tag === undefined) {
      tag = createHmac("sha256", this.root).update(`tag\0${memo}`, "utf8").digest("base64url").slice(0, 16);
      remember(this.tags, memo, tag);
    }
    return tag;
  }

  /** The AES-256 key of one partition's entries. */
  partitionKey(partition: string): Buffer {
    let key = this.partitionKeys.get(partition);
    if (key === undefined) {
      key = Buffer.from(hkdfSync("sha256", this.root, Buffer.alloc(0), `switchboard cache entry key v1\0${partition}`, 32));
      remember(this.partitionKeys, partition, key);
    }
    return key;
  }
}

function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}
