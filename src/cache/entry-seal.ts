import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * An entry as Redis holds it: compressed, then sealed with AES-256-GCM under
 * its partition's key, so a dump of Redis shows neither the answer nor a
 * word of it. Layout:
 *
 *   version (1) | flags (1) | expires at, epoch ms (8) | IV (12) | ciphertext | tag (16)
 *
 * The header and the entry's id are the additional authenticated data: an
 * entry copied under another id, or its expiry changed, does not open.
 * (What a dump still shows: how many entries there are, their sizes and
 * lifetimes. docs/cache.md has the threat model.)
 */
const VERSION = 1;
const COMPRESSED = 1;
const HEADER_BYTES = 10;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Smaller answers are not worth compressing. */
const COMPRESS_FROM_BYTES = 256;
/** No answer the gateway keeps is near this: a bound on what opening one may allocate. */
const MAX_PLAIN_BYTES = 256 * 1024 * 1024;

export interface OpenedEntry {
  plain: Uint8Array;
  expiresAt: number;
}

export function sealEntry(plain: Uint8Array, key: Buffer, id: string, expiresAt: number): Buffer {
  const compressed = plain.length >= COMPRESS_FROM_BYTES ? deflateRawSync(plain) : undefined;
  const body = compressed && compressed.length < plain.length ? compressed : plain;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(VERSION, 0);
  header.writeUInt8(body === compressed ? COMPRESSED : 0, 1);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.round(expiresAt))), 2);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.concat([header, Buffer.from(id, "utf8")]));
  return Buffer.concat([header, iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
}

/** The entry's answer bytes; throws when it does not open (another key, another id, tampered, or a version this code does not know). */
export function openEntry(sealed: Buffer, key: Buffer, id: string): OpenedEntry {
  if (sealed.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || sealed.readUInt8(0) !== VERSION) throw new Error("not a cache entry of a known version");
  const header = sealed.subarray(0, HEADER_BYTES);
  const iv = sealed.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.concat([header, Buffer.from(id, "utf8")]));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  return {
    plain: header.readUInt8(1) & COMPRESSED ? inflateRawSync(body, { maxOutputLength: MAX_PLAIN_BYTES }) : body,
    expiresAt: Number(header.readBigUInt64BE(2)),
  };
}
