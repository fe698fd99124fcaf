import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { BinaryReadOptions, BinaryWriteOptions, DescMessage, JsonReadOptions, JsonWriteOptions, Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import {
  createAsyncIterable,
  createMethodSerializationLookup,
  invokeUnaryImplementation,
  type Compression,
  type MethodSerializationLookup,
  type UniversalHandler,
} from "@connectrpc/connect/protocol";
import { createEndStreamSerialization } from "@connectrpc/connect/protocol-connect";
import { CallSignals } from "./call-signal.js";
import { decodeConnectJson, type ConnectJsonOptions, type Decoded } from "./connect-json.js";
import { writeConnectAnswer } from "./connect-unary-answer.js";
import { withJsonAnswers } from "./json-answers.js";
import { readOnFrom, type Replay } from "./connect-es-replay.js";
import { writeGrpcAnswer } from "./grpc-unary-answer.js";
import { leanRequestOf, type LeanLimits, type LeanRequest } from "./lean-request.js";
import { webHeaders } from "./node-headers.js";
import { failing, invokeServerStream } from "./invoke-stream.js";
import { readBody } from "../../common/request-body.js";
import { bodyCancelled, bodyCut } from "../body-cut.js";
import { deadlinePastOnArrival } from "../body-read-deadline.js";
import { endUnreadStream } from "../unread-stream.js";
import { withErrorInfo } from "../../common/gateway-error.js";
import { asDecodeFault } from "../request-faults.js";
import { requestContextValues } from "../client-key.js";
import { admittedPrincipal } from "../admitted-principal.js";
import { writeStreamAnswer } from "./stream-answer.js";
import { binaryObjectsRefusal } from "../request-objects-bound.js";
import type { EarlyRefusals } from "../../api/envelope/early-refusals.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
type LeanSpec = MethodImplSpec & { kind: "unary" | "server_streaming" };

/** A method the lean path serves. */
export interface HotMethod {
  spec: MethodImplSpec;
  /**
   * Write the method's commonest answers (a stream's text pieces) straight
   * to the binary and JSON forms, the bytes connect-es's serializations would
   * write; undefined leaves a message to them.
   */
  encoders?: Encoders;
}

interface Encoders {
  binary(message: Message): Uint8Array<ArrayBuffer> | undefined;
  json(message: Message): Uint8Array<ArrayBuffer> | undefined;
}

export interface LeanRpcOptions {
  /** The unary and server-streaming methods served here, each with connect-es's handler for the requests declined after reading. */
  methods: (HotMethod & { fallback: UniversalHandler })[];
  /** connect-es's options for the same router: the lean path behaves as they say. */
  interceptors: Interceptor[];
  readMaxBytes: number;
  maxTimeoutMs: number;
  acceptCompression: Compression[];
  binaryOptions?: Partial<BinaryReadOptions & BinaryWriteOptions>;
  jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions> & ConnectJsonOptions;
  shutdownSignal?: AbortSignal;
  replay: Replay;
  /**
   * Where a request that does not decode (answered here, before any interceptor) is recorded, as connect-es's are
   * (../request-faults.ts): under the key the RPC key gate admitted, if it did (../admitted-principal.ts).
   */
  earlyRefusals?: EarlyRefusals;
}

/** protobuf-es' default bound on message nesting while decoding. */
const PROTOBUF_RECURSION_LIMIT = 100;

/** connect-es's default: smaller answers are not worth compressing. */
const COMPRESS_MIN_BYTES = 1024;

interface LeanMethod {
  spec: LeanSpec;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  fallback: UniversalHandler;
}

/**
 * The hot methods (AIService.Chat, Embed, ChatStream) without connect-es's
 * machinery, which cost more per call than the rest of the gateway's work on
 * gRPC, and per streamed message more than the gateway's own: a plain
 * request is read, decoded with connect-es's own serializers, run through the
 * same interceptors (with connect-es's own invokeUnaryImplementation, or
 * invokeServerStream), and answered in the protocol it came in on,
 * as connect-es would answer it. Returns false for a request it does not take
 * (see leanRequestOf), which connect-es then serves; a request it declines
 * after reading its body (over the size bound, not one frame) goes to
 * connect-es with that body (Replay). A body that does not decode is decoded
 * once, here, and answered with connect-es's own error for it, as connect-es
 * answers it: decoding is the costly part of a hostile body.
 */
export function createLeanRpc(options: LeanRpcOptions): (req: Request, res: Response, path: string) => boolean {
  const methods = new Map<string, LeanMethod>();
  for (const { spec, fallback, encoders } of options.methods) {
    if (spec.kind !== "unary" && spec.kind !== "server_streaming") throw new Error(`the lean path serves unary and server-streaming methods only, not ${spec.method.name}`);
    const limits = { readMaxBytes: options.readMaxBytes, writeMaxBytes: 0xffffffff };
    const lookup = withJsonAnswers(createMethodSerializationLookup(spec.method, options.binaryOptions, options.jsonOptions, limits), spec.method.output, options.jsonOptions, limits);
    const serialization = encoders ? withEncoders(lookup, encoders) : lookup;
    methods.set(`/${spec.method.parent.typeName}/${spec.method.name}`, { spec, serialization, fallback });
  }
  const limits: LeanLimits = { acceptCompression: options.acceptCompression, maxTimeoutMs: options.maxTimeoutMs };
  const signals = new CallSignals(options.shutdownSignal);
  const endStream = createEndStreamSerialization(options.jsonOptions);
  const recursionLimit = options.binaryOptions?.recursionLimit ?? PROTOBUF_RECURSION_LIMIT;
  return (req, res, path) => {
    const method = methods.get(path);
    if (!method) return false;
    const call = leanRequestOf(req, limits, method.spec.kind === "server_streaming");
    const authority = "authority" in req ? req.authority : req.headers.host;
    if (!call || !authority) return false;
    void serve(method, call, req, res, `${"encrypted" in req.socket && req.socket.encrypted ? "https" : "http"}://${authority}${req.url}`);
    return true;
  };

  async function serve(method: LeanMethod, call: LeanRequest, req: Request, res: Response, url: string): Promise<void> {
    // The deadline runs from the request's arrival, as connect-es's does.
    const signal = signals.open(req, res, call.timeoutMs);
    // The deadline runs during the read too: a body still arriving when it passes ends the call then. A stream the
    // caller reset while its key was checked is not read: it fires no more events, and the read would never end.
    const body = bodyCut(req) ? undefined : await readBody(req, options.readMaxBytes, deadlinePastOnArrival(call.timeoutMs) ? undefined : signal.signal);
    // A reset stream's read ends as if its body were whole: the reset, not the bytes it left, says how the call ends.
    const cut = bodyCut(req);
    if (body === undefined || cut) {
      signal.close();
      // The deadline (or the shutdown) came first and the caller is still there: told, and recorded.
      if (!cut && signal.signal.aborted && !res.writableEnded && !res.destroyed) return answerUnread(method, call, req, res, unreadBodyError(signal.signal.reason));
      // Cut by the gateway for slowness, or by the caller's own cancel: recorded as connect-es's calls are (../request-faults.ts), with no one to answer.
      options.earlyRefusals?.(methodName(method), webHeaders(req.headers), cut ?? bodyCancelled(), admittedPrincipal(req));
      return;
    }
    if ("over" in body) {
      signal.close();
      return options.replay(req, res, method.fallback, readOnFrom(body.over, req));
    }
    // gRPC and Connect streams carry the request in an envelope.
    const bytes = call.protocol === "grpc" || call.stream ? onlyFrame(body.bytes) : body.bytes;
    if (!bytes) {
      // Not one uncompressed frame: connect-es says what is wrong (nothing was decoded here).
      signal.close();
      return options.replay(req, res, method.fallback, createAsyncIterable([body.bytes]));
    }
    // Decoded once: a body that does not decode is answered here with connect-es's own error, not decoded by it again.
    const input = call.binary ? decodeBinary(method, bytes, recursionLimit) : decodeConnectJson(method.spec.method.input, bytes, options.jsonOptions);
    const header = new Headers({ "content-type": call.responseType });
    if (call.compression && call.protocol === "grpc") header.set("grpc-encoding", call.compression.name);
    // A Connect stream names its messages' encoding up front (a unary answer says whether its body is compressed).
    if (call.compression && call.protocol === "connect" && call.stream) header.set("connect-content-encoding", call.compression.name);
    const trailer = call.protocol === "grpc" ? new Headers({ "grpc-status": "0" }) : new Headers();
    const context: HandlerContext = {
      method: method.spec.method,
      service: method.spec.method.parent,
      requestMethod: "POST",
      protocolName: call.protocol,
      url,
      signal: signal.signal,
      timeoutMs: signal.timeoutMs,
      requestHeader: webHeaders(req.headers),
      responseHeader: header,
      responseTrailer: trailer,
      values: requestContextValues(req),
    };
    if (method.spec.kind === "server_streaming") {
      const messages = invokeServerStream(method.spec, context, input, options.interceptors);
      try {
        await writeStreamAnswer(res, call, header, trailer, messages, method.serialization.getO(call.binary), { compressMinBytes: COMPRESS_MIN_BYTES, endStream });
      } catch {
        // The caller went away while the answer was written: no one is left to tell.
      } finally {
        signal.close();
      }
      return;
    }
    // connect-es decodes a unary request before any interceptor runs: one that does not decode meets none.
    const beforeInterceptors = "error" in input;
    let outcome: { message: Uint8Array } | { error: ConnectError };
    if ("error" in input) {
      signal.close();
      // What the request-faults wrapper makes of the error in gRPC trailers; writeConnectAnswer does it for Connect.
      const error = call.protocol === "grpc" ? withErrorInfo(asDecodeFault(input.error)) : input.error;
      // Recorded as that wrapper records it (as the caller is told it), its headers in the error's metadata.
      const recorded = options.earlyRefusals?.(methodName(method), context.requestHeader, asDecodeFault(input.error), admittedPrincipal(req));
      for (const [name, value] of Object.entries(recorded ?? {})) error.metadata.set(name, value);
      outcome = { error };
    } else {
      try {
        const output = await invokeUnaryImplementation(method.spec, context, input.message, options.interceptors);
        outcome = { message: method.serialization.getO(call.binary).serialize(output) };
      } catch (err) {
        outcome = { error: err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err) };
      } finally {
        signal.close();
      }
    }
    try {
      if (call.protocol === "grpc") await writeGrpcAnswer(res, call, header, trailer, outcome, { compressMinBytes: COMPRESS_MIN_BYTES });
      else await writeConnectAnswer(res, call, header, trailer, outcome, { compressMinBytes: COMPRESS_MIN_BYTES, jsonOptions: options.jsonOptions, beforeInterceptors });
    } catch {
      // The caller went away while the answer was written: no one is left to tell.
    }
  }

  /**
   * A call whose deadline (or the gateway's shutdown) came while its body was
   * still arriving: answered with that error before any interceptor ran, as
   * connect-es answers a request that does not decode, and recorded so; its
   * stream is then freed rather than held until request_timeout_ms.
   */
  async function answerUnread(method: LeanMethod, call: LeanRequest, req: Request, res: Response, error: ConnectError): Promise<void> {
    const recorded = options.earlyRefusals?.(methodName(method), webHeaders(req.headers), error, admittedPrincipal(req));
    for (const [name, value] of Object.entries(recorded ?? {})) error.metadata.set(name, value);
    const header = new Headers({ "content-type": call.responseType });
    const trailer = new Headers();
    endUnreadStream(req);
    try {
      if (method.spec.kind === "server_streaming") await writeStreamAnswer(res, call, header, trailer, failing(error), method.serialization.getO(call.binary), { compressMinBytes: COMPRESS_MIN_BYTES, endStream });
      else if (call.protocol === "grpc") await writeGrpcAnswer(res, call, header, trailer, { error }, { compressMinBytes: COMPRESS_MIN_BYTES });
      else await writeConnectAnswer(res, call, header, trailer, { error }, { compressMinBytes: COMPRESS_MIN_BYTES, jsonOptions: options.jsonOptions, beforeInterceptors: true });
    } catch {
      // The caller went away while the answer was written: no one is left to tell.
    }
  }
}

/** The method's name as the call log and metrics give it: `service/Method`. */
const methodName = (method: LeanMethod): string => `${method.spec.method.parent.typeName}/${method.spec.method.name}`;

/** Why a call whose signal fired while its body was read ends: its deadline, said so, or the gateway's shutdown. */
function unreadBodyError(reason: unknown): ConnectError {
  const error = ConnectError.from(reason);
  if (error.code !== Code.DeadlineExceeded) return withErrorInfo(error);
  return withErrorInfo(new ConnectError("the call's deadline passed before its request body had all arrived", Code.DeadlineExceeded));
}

/**
 * The request decoded with connect-es's binary serialization, or the error it raises (ConnectError "parse binary: …");
 * one holding more objects than a request may is refused before it is built, as on connect-es's path (../request-objects-bound.ts).
 */
function decodeBinary(method: LeanMethod, bytes: Uint8Array, recursionLimit: number): Decoded {
  const refusal = binaryObjectsRefusal(method.spec.method.input, bytes, recursionLimit);
  if (refusal) return { error: refusal };
  try {
    return { message: method.serialization.getI(true).parse(bytes) };
  } catch (err) {
    return { error: ConnectError.from(err, Code.Internal) };
  }
}

/** The message of a request body that is exactly one uncompressed envelope; undefined otherwise (connect-es then says what is wrong). */
function onlyFrame(body: Buffer): Buffer | undefined {
  if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return undefined;
  return body.subarray(5);
}

/** The method's serializations, with its own encoders first for the answers they know. */
function withEncoders(lookup: MethodSerializationLookup<DescMessage, DescMessage>, encoders: Encoders): MethodSerializationLookup<DescMessage, DescMessage> {
  const output = (binary: boolean) => {
    const serialization = lookup.getO(binary);
    const encode = binary ? encoders.binary : encoders.json;
    return { parse: serialization.parse, serialize: (message: Message) => encode(message) ?? serialization.serialize(message) };
  };
  const binary = output(true);
  const json = output(false);
  return { getI: lookup.getI, getO: (useBinaryFormat) => (useBinaryFormat ? binary : json) };
}
