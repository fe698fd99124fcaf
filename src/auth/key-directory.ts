import { digestsEqual } from "./gateway-key.js";
import type { Principal } from "./principal.js";

/** Finds the principal a gateway key's digest belongs to. */
export interface KeyDirectory {
  lookup(digest: Buffer): Promise<Principal | undefined> | Principal | undefined;
}

/** The bootstrap (master) key: one digest, compared in constant time. */
export class MasterKeyDirectory implements KeyDirectory {
  private static readonly principal: Principal = { keyId: "master", name: "master key", admin: true };

  constructor(private readonly masterDigest: Buffer) {}

  lookup(digest: Buffer): Principal | undefined {
    return digestsEqual(digest, this.masterDigest) ? MasterKeyDirectory.principal : undefined;
  }
}

/** Asks each directory in turn (the master key first, then stored keys). */
export class ChainedKeyDirectory implements KeyDirectory {
  constructor(private readonly directories: KeyDirectory[]) {}

  async lookup(digest: Buffer): Promise<Principal | undefined> {
    for (const directory of this.directories) {
      const principal = await directory.lookup(digest);
      if (principal) return principal;
    }
    return undefined;
  }
}
