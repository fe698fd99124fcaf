import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import {
  contentTypeStreamJson,
  contentTypeStreamProto,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  parseContentType,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import { contentTypeProto as grpcProto, parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";

/** A call the lean path serves: its protocol and wire format, deadline, and how its answer is compressed. */
export interface LeanRequest {
  protocol: "connect" | "grpc";
  /** A server-streaming call: its request is one enveloped message, its answer a stream of them. */
  stream: boolean;
  /** Protobuf binary; JSON otherwise (Connect only). */
  binary: boolean;
  /** The caller's deadline (connect-timeout-ms, grpc-timeout), as connect-es reads it. */
  timeoutMs?: number;
  /** The answer's compression as connect-es negotiates it from the caller's accept header; null for none. */
  compression: Compression | null;
  /** The content type the answer carries. */
  responseType: string;
}

export interface LeanLimits {
  acceptCompression: Compression[];
  maxTimeoutMs: number;
}

/**
 * What the lean path makes of a request to a unary or a server-streaming
 * method, from its headers alone: undefined hands it to connect-es, which
 * answers it as it always has. Only the plain case is taken: a POST of an
 * uncompressed Connect (JSON or binary, with the content type of the
 * method's kind) or gRPC (binary, over HTTP/2) request whose deadline header,
 * if any, connect-es would accept. Everything else (compressed requests,
 * gRPC-Web, JSON over gRPC, malformed or refused headers) stays with connect-es.
 */
export function leanRequestOf(req: IncomingMessage | Http2ServerRequest, limits: LeanLimits, stream: boolean): LeanRequest | undefined {
  if (req.method !== "POST") return undefined;
  const headers = req.headers;
  const type = headers["content-type"];
  if (type === undefined) return undefined;
  if (type.startsWith("application/grpc")) {
    if (req.httpVersionMajor !== 2 || (type !== "application/grpc" && type !== "application/grpc+proto")) return undefined;
    const encoding = single(headers["grpc-encoding"]);
    if (encoding !== null && encoding !== "identity") return undefined;
    const timeout = parseGrpcTimeout(single(headers["grpc-timeout"]), limits.maxTimeoutMs);
    if (timeout.error) return undefined;
    const { response } = compressionNegotiate(limits.acceptCompression, encoding, single(headers["grpc-accept-encoding"]), "grpc-accept-encoding");
    return { protocol: "grpc", stream, binary: true, timeoutMs: timeout.timeoutMs, compression: response, responseType: grpcProto };
  }
  const parsed = parseContentType(type);
  if (!parsed || parsed.stream !== stream) return undefined;
  // A Connect stream names its messages' encoding in headers of its own.
  const encoding = single(headers[stream ? "connect-content-encoding" : "content-encoding"]);
  if (encoding !== null && encoding !== "identity") return undefined;
  const timeout = parseConnectTimeout(single(headers["connect-timeout-ms"]), limits.maxTimeoutMs);
  if (timeout.error) return undefined;
  const acceptHeader = stream ? "connect-accept-encoding" : "accept-encoding";
  const { response } = compressionNegotiate(limits.acceptCompression, encoding, single(headers[acceptHeader]), acceptHeader);
  const responseType = stream ? (parsed.binary ? contentTypeStreamProto : contentTypeStreamJson) : parsed.binary ? contentTypeUnaryProto : contentTypeUnaryJson;
  return { protocol: "connect", stream, binary: parsed.binary, timeoutMs: timeout.timeoutMs, compression: response, responseType };
}

/** A header as the Fetch API's Headers.get reads it: repeated values joined, null when absent. */
function single(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}
