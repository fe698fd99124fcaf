import { promisify } from "node:util";
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync, type BrotliOptions, type ZlibOptions } from "node:zlib";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** gzip's fastest level: a 20 KB answer in about a third of the default level's CPU, 7% larger. */
export const GZIP_LEVEL = 1;
/** brotli at about the cost of gzip's fastest, and smaller than it. */
export const BROTLI_QUALITY = 3;

/**
 * Answers up to this size are compressed on the event loop: zlib's thread
 * pool costs more CPU than the compression itself (a 20 KB answer at gzip
 * level 1: about 130 µs through the pool, 30 µs in place), and the loop is
 * held no longer than parsing and encoding the same answer hold it. Larger
 * ones (at most a millisecond or so here) go to the pool. The bytes are the
 * same either way.
 */
export const COMPRESS_IN_PLACE_MAX_BYTES = 64 * 1024;

const GZIP_OPTIONS: ZlibOptions = { level: GZIP_LEVEL };
const BROTLI_OPTIONS: BrotliOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } };

/**
 * The encodings the gateway reads and answers in (Connect and gRPC alike):
 * connect-node's gzip and brotli, decompressing as they do (bounded by the
 * message limit) but compressing at a gateway's speed. The caller chooses the
 * encoding, and connect-node's brotli runs at quality 11, about 23 ms of CPU
 * for a 20 KB answer (a hundred times gzip's): any caller asking for it could
 * spend the gateway's CPU at will.
 */
export const ANSWER_COMPRESSIONS: Compression[] = [
  { ...compressionGzip, compress: (bytes) => compressed(bytes, (b) => gzipSync(b, GZIP_OPTIONS), (b) => gzipAsync(b, GZIP_OPTIONS)) },
  { ...compressionBrotli, compress: (bytes) => compressed(bytes, (b) => brotliCompressSync(b, BROTLI_OPTIONS), (b) => brotliAsync(b, BROTLI_OPTIONS)) },
];

/** `bytes` compressed in place when small (COMPRESS_IN_PLACE_MAX_BYTES), else on the thread pool; zlib's output is never on a SharedArrayBuffer. */
function compressed(bytes: Uint8Array, inPlace: (bytes: Uint8Array) => Buffer, onPool: (bytes: Uint8Array) => Promise<Buffer>): Promise<Uint8Array<ArrayBuffer>> {
  if (bytes.byteLength > COMPRESS_IN_PLACE_MAX_BYTES) return onPool(bytes) as Promise<Uint8Array<ArrayBuffer>>;
  try {
    return Promise.resolve(inPlace(bytes) as Uint8Array<ArrayBuffer>);
  } catch (err) {
    return Promise.reject(err);
  }
}
