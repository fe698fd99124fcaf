// connect-es's path to the object bounds of ../common/request-objects.ts for
// binary bodies (JSON ones meet them in the text decoder, ./json-text-decoder.ts):
// protobuf-es' fromBinary has no hook, so each message is counted here, on
// its way to connect-es, once connect-es's own functions have framed it
// (and a copy of it is decompressed), before connect-es decodes it.
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import {
  compressedFlag,
  encodeEnvelope,
  readAllBytes,
  transformSplitEnvelope,
  type Compression,
  type UniversalHandler,
  type UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import { parseContentType as parseConnectType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebType } from "@connectrpc/connect/protocol-grpc-web";
import { gatewayError } from "../common/gateway-error.js";
import { MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES, tooManyProblem, type RequestExcess } from "../common/request-objects.js";
import { protobufOutgrows } from "./protobuf-object-count.js";
import { isByteStream } from "./unread-body.js";

/** The refusal of a body past a bound, the same on the lean path and connect-es's, binary or JSON. */
export function tooManyObjects(excess: RequestExcess): ConnectError {
  return gatewayError(Code.InvalidArgument, `the request ${tooManyProblem(excess)}`, "INVALID_ARGUMENT");
}

/** The refusal for a binary message of `desc` past a bound, undefined for one within them (or one fromBinary will refuse). */
export function binaryObjectsRefusal(desc: DescMessage, bytes: Uint8Array, recursionLimit: number): ConnectError | undefined {
  // Past a bound takes about two bytes an object or value (a tag, and a length or a value): most bodies need no walk.
  if (bytes.length < 2 * Math.min(MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES)) return undefined;
  const excess = protobufOutgrows(desc, bytes, { objects: MAX_REQUEST_OBJECTS, values: MAX_REQUEST_VALUES, recursionLimit });
  return excess && tooManyObjects(excess);
}

export interface ObjectsBoundOptions {
  /** connect-es's options for the same handler: what it decompresses with, and how large a message it reads. */
  acceptCompression: readonly Compression[];
  readMaxBytes: number;
  /** protobuf-es' recursion limit for the binary decoding (binaryOptions.recursionLimit). */
  recursionLimit: number;
}

/**
 * The same handler, failing the read of a binary request message past the
 * bounds (InvalidArgument, which connect-es answers in the request's
 * protocol) before connect-es decodes it. Every message is counted: a
 * Connect unary body whole, each envelope of gRPC, gRPC-Web and Connect
 * streams as it completes. The bytes go on as they came; a compressed
 * message is counted in a copy decompressed as connect-es decompresses it
 * (on zlib's thread pool: a compressed body is decompressed twice). What
 * cannot be framed or decompressed goes on uncounted, for connect-es to
 * refuse as it always has.
 */
export function withObjectsBounded(handler: UniversalHandler, options: ObjectsBoundOptions): UniversalHandler {
  const desc = handler.method.input;
  const count = (bytes: Uint8Array): void => {
    const refusal = binaryObjectsRefusal(desc, bytes, options.recursionLimit);
    if (refusal) throw refusal;
  };
  const answer = (req: UniversalServerRequest) => {
    const framing = binaryFraming(req.header.get("content-type"));
    if (!framing || !isByteStream(req.body)) return handler(req);
    const compression = compressionNamed(req.header.get(framing.encodingHeader), options.acceptCompression);
    const body = framing.enveloped ? countedEnvelopes(req.body, compression, options.readMaxBytes, count) : countedWhole(req.body, req.header.get("content-length"), compression, options.readMaxBytes, count);
    return handler({ ...req, body });
  };
  return Object.assign(answer, handler);
}

interface Framing {
  /** Messages in length-prefixed envelopes; a Connect unary body is the message itself. */
  enveloped: boolean;
  /** The header naming the messages' compression. */
  encodingHeader: string;
}

/** How a binary request body of `contentType` carries its messages; undefined for JSON, gRPC-Web's base64 text, and what no protocol takes. */
function binaryFraming(contentType: string | null): Framing | undefined {
  const grpcWeb = parseGrpcWebType(contentType);
  if (grpcWeb) return grpcWeb.binary && !grpcWeb.text ? { enveloped: true, encodingHeader: "grpc-encoding" } : undefined;
  const grpc = parseGrpcType(contentType);
  if (grpc) return grpc.binary ? { enveloped: true, encodingHeader: "grpc-encoding" } : undefined;
  const connect = parseConnectType(contentType);
  if (!connect?.binary) return undefined;
  return connect.stream ? { enveloped: true, encodingHeader: "connect-content-encoding" } : { enveloped: false, encodingHeader: "content-encoding" };
}

/** The compression `name` names among those connect-es reads; null for none or one it does not read (it refuses those itself). */
function compressionNamed(name: string | null, compressions: readonly Compression[]): Compression | null {
  if (name === null || name === "identity") return null;
  return compressions.find((compression) => compression.name === name) ?? null;
}

/** A Connect unary body, read whole (as connect-es reads it, refusing what it refuses), counted, then passed on. */
async function* countedWhole(body: AsyncIterable<Uint8Array>, contentLength: string | null, compression: Compression | null, readMaxBytes: number, count: (bytes: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  const bytes = await readAllBytes(body, readMaxBytes, contentLength);
  const message = compression ? await decompressed(bytes, compression, readMaxBytes) : bytes;
  if (message) count(message);
  yield bytes;
}

/** Enveloped messages, split as connect-es splits them (refusing what it refuses), each counted, then passed on. */
async function* countedEnvelopes(body: AsyncIterable<Uint8Array>, compression: Compression | null, readMaxBytes: number, count: (bytes: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const envelope of transformSplitEnvelope(readMaxBytes)(body)) {
    const compressed = (envelope.flags & compressedFlag) === compressedFlag;
    const message = !compressed ? envelope.data : compression ? await decompressed(envelope.data, compression, readMaxBytes) : undefined;
    if (message) count(message);
    yield encodeEnvelope(envelope.flags, envelope.data);
  }
}

/** A copy of `bytes` decompressed; undefined when it cannot be (connect-es then says why). */
async function decompressed(bytes: Uint8Array, compression: Compression, readMaxBytes: number): Promise<Uint8Array | undefined> {
  try {
    return await compression.decompress(bytes, readMaxBytes);
  } catch {
    return undefined;
  }
}
