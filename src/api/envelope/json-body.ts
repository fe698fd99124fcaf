import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate, inflateRaw, type ZlibOptions } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { badRequest } from "../../common/bad-request.js";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError, REQUEST_TOO_LARGE } from "../../common/gateway-error.js";
import { loneSurrogateAt, mayHoldLoneSurrogates, wellFormed } from "../../common/lone-surrogates.js";
import { readBody } from "../../common/request-body.js";
import { jsonOutgrows } from "../../common/json-nesting.js";
import { MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES, tooManyProblem } from "../../common/request-objects.js";
import { MAX_JSON_DEPTH, TOO_DEEP } from "../json-depth.js";
import { slowClientCut } from "../../server/slow-client.js";

/** Bodies above this are refused before they are parsed; a compressed body, before and after it is decoded. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

type Decoder = (bytes: Buffer, options: ZlibOptions) => Promise<Buffer>;
const gunzipAsync: Decoder = promisify(gunzip);
const inflateAsync: Decoder = promisify(inflate);
const inflateRawAsync: Decoder = promisify(inflateRaw);
const brotliAsync = promisify(brotliDecompress) as Decoder;

/**
 * The content codings a body may come in (RFC 9110's names), as the Connect
 * surfaces accept them. The SDKs send plain JSON, but an HTTP client or proxy
 * that compresses uploads is answered, not told its gzip "is not valid JSON".
 * `deflate` is the zlib format, or the raw deflate some clients send under
 * that name.
 */
const DECODERS: Record<string, Decoder> = {
  gzip: gunzipAsync,
  "x-gzip": gunzipAsync,
  deflate: (bytes, options) => (isZlibStream(bytes) ? inflateAsync : inflateRawAsync)(bytes, options),
  br: brotliAsync,
};
const SUPPORTED = "gzip, deflate or br";

/**
 * A request's JSON body: of a JSON content type, at most MAX_BODY_BYTES
 * (read, and once its content coding is decoded), not nested past
 * MAX_JSON_DEPTH nor holding more objects or values than a request may
 * (../../common/request-objects.ts; both refused before it is parsed), UTF-8 (a leading BOM
 * dropped), parseable, and holding no lone surrogate (InvalidArgument naming
 * the field that does).
 */
export async function readJsonBody(req: IncomingMessage | Http2ServerRequest, contentType: string, cancelled?: AbortSignal): Promise<unknown> {
  if (!contentType.includes("json")) throw gatewayError(Code.InvalidArgument, "the body must be JSON (content-type: application/json)", "INVALID_ARGUMENT");
  const coding = contentCodingOf(req.headers["content-encoding"]);
  const read = await readBody(req, MAX_BODY_BYTES, cancelled);
  // Cut off for slowness, else why the call was cancelled (the client went away, its deadline, shutdown).
  if (read === undefined) throw slowClientCut(req) ?? (cancelled?.reason instanceof ConnectError ? cancelled.reason : gatewayError(Code.Canceled, "the client went away", "CANCELLED"));
  if ("over" in read) {
    // The rest is read and dropped, not left unread: its connection would hang (see server/unread-body.ts).
    req.resume();
    throw tooLarge();
  }
  const bytes = coding ? await decoded(read.bytes, coding) : read.bytes;
  // Counted before JSON.parse, which builds any nesting and any number of objects (seconds of CPU for 8 MiB of `[[[[`,
  // 1.8 s for 8 MiB of `{},`) and only then could the value be measured; what reads the body next (and JSON.stringify
  // to vendors) may not cope with it. The depth is exact for JSON that parses: the same verdict as measuring the parsed value.
  const excess = jsonOutgrows(bytes, BODY_LIMITS);
  if (excess === "depth") throw gatewayError(Code.InvalidArgument, `the body ${TOO_DEEP}`, "INVALID_ARGUMENT");
  if (excess) throw gatewayError(Code.InvalidArgument, `the body ${tooManyProblem(excess)}`, "INVALID_ARGUMENT");
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw gatewayError(Code.InvalidArgument, "the body is not valid UTF-8 (JSON text must be)", "INVALID_ARGUMENT");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw gatewayError(Code.InvalidArgument, "the body is not valid JSON", "INVALID_ARGUMENT");
  }
  // Refused as bytes that are not UTF-8 are (a text cut in the middle of an emoji, by .slice()): answered, it would be
  // sent on as U+FFFD, and stored as proto JSON a continuation could never read back. Most bodies hold no such escape.
  const lone = mayHoldLoneSurrogates(text) ? loneSurrogateAt(value) : undefined;
  if (lone !== undefined) throw badRequest({ field: excerpt(wellFormed(lone)), description: LONE_SURROGATE_PROBLEM });
  return value;
}

const BODY_LIMITS = { depth: MAX_JSON_DEPTH, objects: MAX_REQUEST_OBJECTS, values: MAX_REQUEST_VALUES };

const LONE_SURROGATE_PROBLEM =
  "holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its other half), which is not Unicode text: cut text at whole characters, not UTF-16 code units, or replace the half with U+FFFD";

/**
 * Strict UTF-8: bytes that are not UTF-8 are refused, not forwarded as U+FFFD
 * (as the Connect surfaces refuse them); one leading byte order mark, which
 * RFC 8259 lets a parser ignore and some clients send, is dropped.
 */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The one content coding to undo, or undefined for none (`identity`). More
 * than one (`gzip, br`) is refused: no client needs it, and each layer would
 * cost a full decode.
 */
function contentCodingOf(header: string | string[] | undefined): string | undefined {
  const codings = [header ?? []]
    .flat()
    .flatMap((value) => value.split(","))
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0) return undefined;
  const [coding] = codings;
  if (codings.length > 1 || !(coding! in DECODERS)) {
    const named = codings.join(", ").slice(0, 100);
    throw gatewayError(Code.InvalidArgument, `content-encoding "${named}" is not supported: send the body plain or compressed with one of ${SUPPORTED}`, "INVALID_ARGUMENT");
  }
  return coding;
}

/** The body decoded, stopping at MAX_BODY_BYTES of output (as connect-node does): a decompression bomb inflates no further. */
async function decoded(bytes: Buffer, coding: string): Promise<Buffer> {
  if (bytes.length === 0) return bytes;
  try {
    return await DECODERS[coding]!(bytes, { maxOutputLength: MAX_BODY_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(` once decoded (${coding})`);
    throw gatewayError(Code.InvalidArgument, `the body is not valid ${coding === "x-gzip" ? "gzip" : coding} (content-encoding: ${coding})`, "INVALID_ARGUMENT");
  }
}

function tooLarge(how = ""): Error {
  return gatewayError(Code.ResourceExhausted, `the body is larger than ${MAX_BODY_BYTES} bytes${how}`, REQUEST_TOO_LARGE);
}

/** A zlib stream's two-byte header (RFC 1950): deflate, a window up to 32K, and a check that makes it a multiple of 31. */
function isZlibStream(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && bytes[0]! >> 4 <= 7 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0;
}
