import { createHmac, hkdfSync } from "node:crypto";
import { loadDataKey, loadPreviousDataKeys } from "./data-key.js";
import { openSealed, seal } from "./aes-gcm.js";
import { KekError, type KeyEncryptionKey, type WrappedKey } from "./kek.js";

/** One local key-encryption key: derived from a 32-byte root key, named by a short non-secret id. */
interface LocalKey {
  id: string;
  key: Buffer;
}

/**
 * The local key-encryption key: derived (HKDF-SHA256) from
 * SWITCHBOARD_SECRET_KEY (or the key file), so it is never the very key the
 * encrypted file uses. Keys named in SWITCHBOARD_SECRET_KEY_PREVIOUS
 * (comma-separated) still unwrap what they wrapped, so an operator rotates by
 * moving the old key there, setting a new one, and running
 * `switchboard secrets rewrap`.
 */
export class LocalKek implements KeyEncryptionKey {
  readonly kind = "local";
  private readonly ring = new Map<string, LocalKey>();
  private readonly active: LocalKey;

  constructor(root: Buffer, previous: readonly Buffer[] = []) {
    this.active = derive(root);
    for (const key of [this.active, ...previous.map(derive)]) this.ring.set(key.id, key);
  }

  /** From the environment: SWITCHBOARD_SECRET_KEY (or the key file) and SWITCHBOARD_SECRET_KEY_PREVIOUS. */
  static fromEnv(env: NodeJS.ProcessEnv, keyFile: string | undefined, warn?: (message: string) => void): LocalKek {
    return new LocalKek(loadDataKey(env, keyFile, warn), loadPreviousDataKeys(env));
  }

  async current(): Promise<string> {
    return this.active.id;
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    return { kek: this.active.id, blob: seal(this.active.key, dataKey, context).toString("base64") };
  }

  async unwrap(wrapped: WrappedKey, context: string): Promise<Buffer> {
    const key = this.ring.get(wrapped.kek);
    if (!key) {
      throw new KekError(
        `the data key of this secret was wrapped with the local key ${wrapped.kek}, which is neither SWITCHBOARD_SECRET_KEY (${this.active.id}) nor in SWITCHBOARD_SECRET_KEY_PREVIOUS`,
      );
    }
    const opened = openSealed(key.key, Buffer.from(wrapped.blob, "base64"), context);
    if (!opened) throw new KekError(`the wrapped data key fails authentication under ${wrapped.kek}: the row was damaged or moved`);
    return opened;
  }

  async rewrap(wrapped: WrappedKey, context: string): Promise<WrappedKey> {
    const dataKey = await this.unwrap(wrapped, context);
    try {
      return await this.wrap(dataKey, context);
    } finally {
      dataKey.fill(0);
    }
  }
}

function derive(root: Buffer): LocalKey {
  const key = Buffer.from(hkdfSync("sha256", root, Buffer.alloc(0), "switchboard database secrets kek v1", 32));
  return { id: `local:${createHmac("sha256", key).update("switchboard kek id").digest("hex").slice(0, 8)}`, key };
}
