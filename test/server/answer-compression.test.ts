import { randomBytes } from "node:crypto";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ANSWER_COMPRESSIONS, BROTLI_QUALITY, COMPRESS_IN_PLACE_MAX_BYTES, GZIP_LEVEL } from "../../src/server/answer-compression.js";

// An answer of a few KB costs less CPU compressed on the event loop than handed to zlib's thread pool (60 KB prompt rows
// of the bench); a large one still goes to the pool, and the bytes are the same either way.

const SAME_BYTES: Record<string, (bytes: Uint8Array) => Buffer> = {
  gzip: (bytes) => gzipSync(bytes, { level: GZIP_LEVEL }),
  br: (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }),
};
const DECOMPRESS: Record<string, (bytes: Uint8Array) => Buffer> = { gzip: gunzipSync, br: brotliDecompressSync };

/** Whether the promise settles within a few microtasks: no thread pool round trip (that needs a turn of the event loop). */
async function settlesInPlace(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const inPlace = settled;
  await promise;
  return inPlace;
}

describe.each(ANSWER_COMPRESSIONS.map((compression) => [compression.name, compression] as const))("%s answers", (name, compression) => {
  const small = Buffer.from(JSON.stringify({ content: "word ".repeat(4_000) })); // the bench's 20 KB answer
  const large = Buffer.from(randomBytes(COMPRESS_IN_PLACE_MAX_BYTES).toString("base64"));

  it("a small answer is compressed on the event loop, to the same bytes", async () => {
    const pending = compression.compress(small);
    expect(await settlesInPlace(pending)).toBe(true);
    expect(Buffer.from(await pending).equals(SAME_BYTES[name]!(small))).toBe(true);
  });

  it("a large answer goes to the thread pool, to the same bytes", async () => {
    const pending = compression.compress(large);
    expect(await settlesInPlace(pending)).toBe(false);
    const bytes = await pending;
    expect(Buffer.from(bytes).equals(SAME_BYTES[name]!(large))).toBe(true);
    expect(DECOMPRESS[name]!(bytes).equals(large)).toBe(true);
  });
});
