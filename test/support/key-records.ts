import type { KeyRecord } from "../../src/auth/key-policy.js";

/** The digest a test's key `name` is found by: its name, padded to a digest's 32 bytes, so a test reads which key it asks for. */
export const keyDigest = (name: string): Buffer => Buffer.from(name.padEnd(32, "_"));

/** A stored gateway key `id` with no limits, found by `keyDigest(id)`; `overrides` on top. */
export function storedKey(id: string, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    digest: keyDigest(id).toString("hex"),
    keyHint: "sk-sb-…x",
    displayName: id,
    team: "t",
    admin: false,
    allowedModels: [],
    requestsPerMinute: 0,
    tokensPerMinute: 0,
    economyModels: [],
    createMs: 1,
    updateMs: 1,
    ...overrides,
  };
}
