import { randomBytes } from "node:crypto";
import { openSealed, seal } from "./aes-gcm.js";
import type { KeyEncryptionKey, WrappedKey } from "./kek.js";

/** One version of a secret as the database keeps it: nothing in it is secret. */
export interface SealedSecret {
  /** base64(nonce ‖ AES-256-GCM ciphertext ‖ tag) under the version's own data key. */
  ciphertext: string;
  /** The data key, wrapped by the key-encryption key. */
  wrapped: WrappedKey;
}

/**
 * What binds a row to its place: the secret's name and version, as the
 * ciphertext's associated data (and the wrapped key's, or KMS's encryption
 * context). A row's columns copied onto another secret, or another version,
 * fail authentication instead of decrypting.
 */
export function secretContext(name: string, version: number): string {
  return `switchboard-db-secret/v1/${name}/${version}`;
}

/** Envelope encryption: a fresh 32-byte data key per version, wrapped by the KEK; the data key is zeroed once used. */
export async function sealSecret(kek: KeyEncryptionKey, name: string, version: number, value: string): Promise<SealedSecret> {
  const context = secretContext(name, version);
  const dataKey = randomBytes(32);
  const plaintext = Buffer.from(value, "utf8");
  try {
    const ciphertext = seal(dataKey, plaintext, context).toString("base64");
    return { ciphertext, wrapped: await kek.wrap(dataKey, context) };
  } finally {
    dataKey.fill(0);
    plaintext.fill(0);
  }
}

/** The value of a sealed version; undefined when the row fails authentication (damaged, or moved from another secret or version). */
export async function openSecret(kek: KeyEncryptionKey, name: string, version: number, sealed: SealedSecret): Promise<string | undefined> {
  const context = secretContext(name, version);
  const dataKey = await kek.unwrap(sealed.wrapped, context);
  try {
    const plaintext = openSealed(dataKey, Buffer.from(sealed.ciphertext, "base64"), context);
    if (!plaintext) return undefined;
    const value = plaintext.toString("utf8");
    plaintext.fill(0);
    return value;
  } finally {
    dataKey.fill(0);
  }
}
