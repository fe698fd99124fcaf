import { digestsEqual } from "./gateway-key.js";
import type { Principal } from "./principal.js";

/** A known key that no longer works: revoked, or past its expiry time. */
export interface KeyRefusal {
  keyId: string;
  why: "revoked" | "expired";
  /** When it was revoked or expired. */
  atMs: number;
}

/** Finds the principal a gateway key's digest belongs to. */
export interface KeyDirectory {
  /** `remoteAddress`, the caller's connection's, shares out what a lookup not answered at once may hold (undefined: one shared caller). */
  lookup(digest: Buffer, remoteAddress?: string): Promise<Principal | undefined> | Principal | undefined;
  /**
   * Why a digest `lookup` just turned away belongs to a key that no longer
   * works, if it does. Only a caller holding that very key gets this answer,
   * so saying so reveals nothing about other keys.
   */
  refusal?(digest: Buffer): KeyRefusal | undefined;
}

/** The master key's id: no stored key may take it. */
export const MASTER_KEY_ID = "master";

/** The bootstrap (master) key: one digest, compared in constant time. */
export class MasterKeyDirectory implements KeyDirectory {
  private static readonly principal: Principal = { keyId: MASTER_KEY_ID, name: "master key", admin: true };

  constructor(private readonly masterDigest: Buffer) {}

  lookup(digest: Buffer): Principal | undefined {
    return digestsEqual(digest, this.masterDigest) ? MasterKeyDirectory.principal : undefined;
  }
}

/** Asks each directory in turn (the master key first, then stored keys). */
export class ChainedKeyDirectory implements KeyDirectory {
  constructor(private readonly directories: KeyDirectory[]) {}

  async lookup(digest: Buffer, remoteAddress?: string): Promise<Principal | undefined> {
    for (const directory of this.directories) {
      const principal = await directory.lookup(digest, remoteAddress);
      if (principal) return principal;
    }
    return undefined;
  }

  refusal(digest: Buffer): KeyRefusal | undefined {
    for (const directory of this.directories) {
      const refusal = directory.refusal?.(digest);
      if (refusal) return refusal;
    }
    return undefined;
  }
}
