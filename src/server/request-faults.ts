import { Code, ConnectError } from "@connectrpc/connect";
import {
  compressedFlag,
  createAsyncIterable,
  encodeEnvelope,
  readAllBytes,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, codeToHttpStatus, endStreamFlag, endStreamFromJson, endStreamToJson, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { callRecordKey } from "../api/envelope/call-record.js";
import type { EarlyRefusals } from "../api/envelope/early-refusals.js";
import { principalKey } from "../auth/principal.js";
import { reasonOf, withErrorInfo } from "../common/gateway-error.js";
import { ANSWER_COMPRESSIONS } from "./answer-compression.js";
import { bodyCutOf } from "./slow-cut-context.js";

// Requests that are the caller's fault but that connect-es 2.1 answers as a
// server fault, or not at all: undecodable bodies, and text it cannot echo;
// and the errors connect-es raises itself (a bad timeout header, an unknown
// encoding, a message past the size limit, JSON that does not parse), which
// no interceptor sees and so carry no ErrorInfo.

/**
 * What connect-es raises, with code Internal, for a request body it cannot
 * decode: protobuf that is not protobuf, invalid UTF-8 in a string, nesting
 * past the recursion limit, a frame flagged compressed without an encoding,
 * a corrupt compressed stream. Its one serializer serves clients too, where
 * an undecodable body is the server's fault; on a server it is the caller's,
 * and no interceptor sees it (a unary request is decoded before they run).
 */
const DECODE_FAILURE = /^(parse binary: |received compressed envelope, but do not know how to decompress$|decompression failed$)/;

/** InvalidArgument, naming what could not be decoded, when `error` is such a failure; `error` itself otherwise. */
export function asDecodeFault(error: ConnectError): ConnectError {
  if (error.code !== Code.Internal || !DECODE_FAILURE.test(error.rawMessage)) return error;
  const what = error.rawMessage.replace(/^parse binary: /, "");
  return withErrorInfo(new ConnectError(`the request cannot be decoded: ${what}`, Code.InvalidArgument, undefined, undefined, error));
}

/**
 * What the caller is told instead of `error`, an error answered before any
 * interceptor ran: a decode failure as InvalidArgument, and ErrorInfo on
 * every error (its code's name as the reason, as for the gateway's own).
 * Undefined when `error` is fine as it is.
 */
function mended(error: ConnectError): ConnectError | undefined {
  const fault = asDecodeFault(error);
  if (fault === error && reasonOf(error) !== undefined) return undefined;
  return withErrorInfo(fault);
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `error` with a message that every protocol can carry. A message that quotes
 * the caller's text may hold an unpaired surrogate (JSON allows "\ud800");
 * gRPC percent-encodes the message into a trailer, which throws on one, and
 * connect-es then never ends the call.
 */
export function withWellFormedMessage(error: ConnectError): ConnectError {
  const message = error.rawMessage.replace(UNPAIRED_SURROGATE, "\uFFFD");
  if (message === error.rawMessage) return error;
  // Details as they are: the protocols write received ones (a vendor's, relayed) as well as built ones.
  return new ConnectError(message, error.code, error.metadata, error.details as ConstructorParameters<typeof ConnectError>[3], error.cause);
}

/**
 * The same handler, answering the calls above with InvalidArgument in the
 * protocol they came in on. Such a call fails before its first response
 * message, so its error is already serialized when the handler returns: in
 * the Connect unary body, the gRPC trailers, or the first (end) frame of a
 * gRPC-Web or Connect stream; or the handler rejected, having failed to
 * serialize it. Every other answer passes through untouched. With `early`,
 * a call that failed before the interceptors ran (none opened its record)
 * is recorded there, and its answer carries the headers it returns
 * (`x-request-id`) where an interceptor's error puts its metadata.
 */
export function withRequestFaults(handler: UniversalHandler, early?: EarlyRefusals): UniversalHandler {
  const method = `${handler.service.typeName}/${handler.method.name}`;
  const answer = async (req: UniversalServerRequest) => {
    // Both asked only once the handler has answered: the request interceptor opens the call's record as the call reaches it.
    const mend: Mend = (error) => {
      const fault = mended(error);
      if (!early || reachedInterceptors(req)) return fault;
      // A body cut off (by the gateway for slowness, or by the caller's cancel) fails connect-es's read or decode: recorded as the cut it is.
      const told = bodyCutOf(req.contextValues) ?? fault ?? error;
      // Its key, when the RPC key gate admitted one before the body was read: the line names it, and the span continues the caller's trace.
      for (const [name, value] of Object.entries(early(method, req.header, told, req.contextValues?.get(principalKey)))) told.metadata.set(name, value);
      return told;
    };
    const unreached = () => early !== undefined && !reachedInterceptors(req);
    let res: UniversalServerResponse;
    try {
      res = await handler(req);
    } catch (err) {
      // encodeURIComponent's complaint about an unpaired surrogate, from a decode error quoting the request.
      if (!(err instanceof URIError)) throw err;
      const error = unspeakable();
      return errorAnswer(req.header.get("content-type") ?? "", mend(error) ?? error);
    }
    return rewrite(res, mend, unreached);
  };
  return Object.assign(answer, handler);
}

/** Whether the request interceptor opened the call's record: the call reached the interceptors. */
const reachedInterceptors = (req: UniversalServerRequest) => req.contextValues?.get(callRecordKey) !== undefined;

/** The error to answer in place of one the handler answered, or undefined to leave its answer as it is. */
type Mend = (error: ConnectError) => ConnectError | undefined;

const unspeakable = () => withErrorInfo(new ConnectError("the request holds text that is not valid Unicode (an unpaired surrogate)", Code.InvalidArgument));

/** `res` with its error mended; `unreached()`: the call met no interceptor and is recorded (by mend), compressed error and all. */
async function rewrite(res: UniversalServerResponse, mend: Mend, unreached: () => boolean): Promise<UniversalServerResponse> {
  const type = res.header?.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return rewriteEndFrame(res, trailerFlag, (data) => rewriteGrpcWebTrailer(data, mend));
  if (type.startsWith("application/grpc")) {
    if (res.trailer) rewriteTrailer(res.trailer, mend);
    return res;
  }
  if (type.startsWith("application/connect+")) return rewriteEndFrame(res, endStreamFlag, (data) => rewriteEndStream(data, mend));
  // Connect unary: an error is the JSON body of an answer other than 200.
  if (res.status !== 200 && res.body && res.header?.get("content-type") === "application/json") {
    const encoding = res.header.get("content-encoding");
    if (encoding === null) return rewriteUnary(res, await readAllBytes(res.body, Number.MAX_SAFE_INTEGER), mend);
    if (unreached()) return withCompressedErrorRead(res, await readAllBytes(res.body, Number.MAX_SAFE_INTEGER), encoding, mend);
  }
  return res;
}

function rewriteUnary(res: UniversalServerResponse, body: Uint8Array, mend: Mend): UniversalServerResponse {
  const error = unaryError(body);
  const fault = error && mend(error);
  if (!fault) return { ...res, body: createAsyncIterable([body]) };
  const bytes = errorToJsonBytes(fault, undefined);
  const header = new Headers(res.header);
  // As connect-es writes an error's metadata: as headers.
  fault.metadata.forEach((value, name) => header.set(name, value));
  header.set("content-length", String(bytes.byteLength));
  return { ...res, status: codeToHttpStatus(fault.code), header, body: createAsyncIterable([bytes]) };
}

/**
 * A compressed Connect unary error, of a call that met no interceptor: answered
 * as it is (compressed errors are not mended), but read, so that the call is
 * recorded whatever encoding its caller accepts (by its HTTP status, should it
 * not read); its headers get the recorded error's metadata.
 */
async function withCompressedErrorRead(res: UniversalServerResponse, body: Uint8Array, encoding: string, mend: Mend): Promise<UniversalServerResponse> {
  const compression = ANSWER_COMPRESSIONS.find((known) => known.name === encoding);
  const json = await compression?.decompress(body, MAX_ERROR_BYTES).catch(() => undefined);
  const error = (json && unaryError(json)) ?? new ConnectError("the error answered could not be read back", codeFromHttpStatus(res.status));
  const header = new Headers(res.header);
  (mend(error) ?? error).metadata.forEach((value, name) => header.set(name, value));
  return { ...res, header, body: createAsyncIterable([body]) };
}

/** An error quotes at most its request, of at most 8 MiB: read back up to twice that. */
const MAX_ERROR_BYTES = 16 * 1024 * 1024;

/** The error a Connect unary answer's JSON body holds, or undefined when it holds none. */
function unaryError(body: Uint8Array): ConnectError | undefined {
  try {
    return errorFromJsonBytes(body, undefined, new ConnectError("", Code.Unknown));
  } catch {
    return undefined;
  }
}

/** Rewrites gRPC (or gRPC-Web) trailers in place; true when they needed it. */
function rewriteTrailer(trailer: Headers, mend: Mend): boolean {
  const error = findTrailerError(trailer);
  const fault = error && mend(error);
  if (!fault) return false;
  setTrailerStatus(trailer, fault);
  return true;
}

function rewriteGrpcWebTrailer(data: Uint8Array, mend: Mend): Uint8Array | undefined {
  const trailer = trailerParse(data);
  return rewriteTrailer(trailer, mend) ? trailerSerialize(trailer) : undefined;
}

function rewriteEndStream(data: Uint8Array, mend: Mend): Uint8Array | undefined {
  let end;
  try {
    end = endStreamFromJson(data);
  } catch {
    return undefined;
  }
  const fault = end.error && mend(end.error);
  if (!fault) return undefined;
  // A stream's metadata at its end is its trailers.
  fault.metadata.forEach((value, name) => end.metadata.set(name, value));
  return endStreamBytes(end.metadata, fault);
}

const endStreamBytes = (metadata: Headers, error: ConnectError) => new TextEncoder().encode(JSON.stringify(endStreamToJson(metadata, error, undefined)));

/** Looks at a stream's first frame (already produced when the handler returns); rewrites it when it is an uncompressed end frame. */
async function rewriteEndFrame(res: UniversalServerResponse, endFlag: number, rewriteData: (data: Uint8Array) => Uint8Array | undefined): Promise<UniversalServerResponse> {
  if (!res.body) return res;
  const rest = res.body[Symbol.asyncIterator]();
  let first = await rest.next();
  // Each body chunk is one whole frame: a 5-byte prefix (flags, length), then the data.
  if (!first.done && first.value.byteLength >= 5 && (first.value[0]! & (endFlag | compressedFlag)) === endFlag) {
    const data = rewriteData(first.value.subarray(5));
    if (data) first = { done: false, value: encodeEnvelope(endFlag, data) };
  }
  return { ...res, body: replay(first, rest) };
}

/** `first`, then the rest; closing or failing the stream reaches the handler as before. */
function replay(first: IteratorResult<Uint8Array>, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending: IteratorResult<Uint8Array> | undefined = first;
  const iterator: AsyncIterator<Uint8Array> = {
    next: async () => {
      const next = pending ?? (await rest.next());
      pending = undefined;
      return next;
    },
    return: async (value?: unknown) => (await rest.return?.(value)) ?? { done: true, value: undefined },
    throw: async (e?: unknown) => (rest.throw ? rest.throw(e) : Promise.reject(e)),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** `error` as the whole answer of a call that failed before its first message, in the protocol of its content type. */
function errorAnswer(type: string, error: ConnectError): UniversalServerResponse {
  const header = new Headers({ "content-type": type });
  if (type.startsWith("application/grpc-web")) {
    return { status: 200, header, body: createAsyncIterable([encodeEnvelope(trailerFlag, trailerSerialize(setTrailerStatus(new Headers(), error)))]) };
  }
  if (type.startsWith("application/grpc")) return { status: 200, header, body: createAsyncIterable([]), trailer: setTrailerStatus(new Headers(), error) };
  if (type.startsWith("application/connect+")) return { status: 200, header, body: createAsyncIterable([encodeEnvelope(endStreamFlag, endStreamBytes(new Headers(), error))]) };
  return { status: codeToHttpStatus(error.code), header: new Headers({ "content-type": "application/json" }), body: createAsyncIterable([errorToJsonBytes(error, undefined)]) };
}
