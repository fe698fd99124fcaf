import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** gzip's fastest level: a 20 KB answer in about a third of the default level's CPU, 7% larger. */
export const GZIP_LEVEL = 1;
/** brotli at about the cost of gzip's fastest, and smaller than it. */
export const BROTLI_QUALITY = 3;

/**
 * The encodings the gateway reads and answers in (Connect and gRPC alike):
 * connect-node's gzip and brotli, decompressing as they do (bounded by the
 * message limit) but compressing at a gateway's speed. The caller chooses the
 * encoding, and connect-node's brotli runs at quality 11, about 23 ms of CPU
 * for a 20 KB answer (a hundred times gzip's): any caller asking for it could
 * spend the gateway's CPU at will.
 */
export const ANSWER_COMPRESSIONS: Compression[] = [
  { ...compressionGzip, compress: (bytes) => onOwnMemory(gzipAsync(bytes, { level: GZIP_LEVEL })) },
  { ...compressionBrotli, compress: (bytes) => onOwnMemory(brotliAsync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } })) },
];

/** zlib's output, typed as it is: never on a SharedArrayBuffer. */
function onOwnMemory(compressed: Promise<Buffer>): Promise<Uint8Array<ArrayBuffer>> {
  return compressed as Promise<Uint8Array<ArrayBuffer>>;
}
