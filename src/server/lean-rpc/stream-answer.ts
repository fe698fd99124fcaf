import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { appendHeaders, Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag, type Serialization } from "@connectrpc/connect/protocol";
import { createEndStreamSerialization, endStreamFlag } from "@connectrpc/connect/protocol-connect";
import { withErrorInfo } from "../../common/gateway-error.js";
import { asDecodeFault } from "../request-faults.js";
import { responseClosed, untilDrained } from "../response-drain.js";
import { TurnWrites } from "../turn-writes.js";
import { setGrpcErrorTrailer } from "./grpc-status.js";
import type { LeanRequest } from "./lean-request.js";
import { nodeHeaders } from "./node-headers.js";

type Response = ServerResponse | Http2ServerResponse;

export interface StreamAnswerOptions {
  compressMinBytes: number;
  /** connect-es's serialization of a Connect stream's end (createEndStreamSerialization). */
  endStream: ReturnType<typeof createEndStreamSerialization>;
}

/**
 * Writes a server stream's answer as connect-es does: the headers with the
 * first message (so that the implementation may still set them), each
 * message in its own envelope (compressed when negotiated and at least
 * `compressMinBytes`), then the end: a Connect end-stream envelope with the
 * error, if any, and the trailers as metadata; or gRPC trailers with the
 * status. Waits while the caller reads slower than the stream is written,
 * and stops (ending the implementation through its iterator's return) when
 * the caller has gone away.
 */
export async function writeStreamAnswer<T>(
  res: Response,
  call: LeanRequest,
  header: Headers,
  trailer: Headers,
  messages: AsyncIterable<T>,
  serializer: Serialization<T>,
  options: StreamAnswerOptions,
): Promise<void> {
  let sent = 0;
  let error: ConnectError | undefined;
  // The messages of a burst leave in one write, and the last ones with the end.
  const writes = new TurnWrites(res);
  try {
    for await (const message of messages) {
      if (responseClosed(res)) return; // the caller went away: leaving the loop ends the implementation
      if (sent++ === 0) res.writeHead(200, nodeHeaders(header));
      let frame = envelope(0, serializer.serialize(message), call, options);
      if (frame instanceof Promise) frame = await frame;
      if (!writes.write(frame)) await untilDrained(res);
    }
  } catch (err) {
    error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  }
  if (responseClosed(res)) return;
  if (call.protocol === "grpc") {
    if (error) setGrpcErrorTrailer(trailer, error, sent === 0);
    if (sent === 0) res.writeHead(200, nodeHeaders(header));
    res.addTrailers(nodeHeaders(trailer));
    writes.end();
    return;
  }
  let data = options.endStream.serialize({ metadata: trailer, error });
  // The request-faults wrapper rewrites an internal decode failure in a stream's first envelope when it is not
  // compressed: the error's metadata stays in the end's (where connect-es put it), the error gets ErrorInfo.
  if (error && sent === 0 && !(call.compression !== null && data.byteLength >= options.compressMinBytes)) {
    const fault = asDecodeFault(error);
    if (fault !== error) data = options.endStream.serialize({ metadata: appendHeaders(trailer, error.metadata), error: withErrorInfo(fault) });
  }
  const frame = await envelope(endStreamFlag, data, call, options);
  if (sent === 0) res.writeHead(200, nodeHeaders(header));
  writes.end(frame);
}

/** A message in its envelope, compressed as connect-es compresses it (at once when it is not: no turn of the event loop per message). */
function envelope(flags: number, data: Uint8Array, call: LeanRequest, options: StreamAnswerOptions): Uint8Array | Promise<Uint8Array> {
  const compression = call.compression;
  if (compression === null || data.byteLength < options.compressMinBytes) return enveloped(flags, data);
  return compression.compress(data).then((compressed) => enveloped(flags | compressedFlag, compressed));
}

/**
 * connect-es's encodeEnvelope (flags, big-endian length, the data) in a
 * Buffer from Node's pool: a stream writes one per message, and a small
 * `new Uint8Array` costs an ArrayBuffer of its own each time.
 */
export function enveloped(flags: number, data: Uint8Array): Uint8Array {
  const frame = Buffer.allocUnsafe(5 + data.byteLength);
  frame[0] = flags;
  frame.writeUInt32BE(data.byteLength, 1);
  frame.set(data, 5);
  return frame;
}
