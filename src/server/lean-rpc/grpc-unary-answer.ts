import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { compressedFlag, encodeEnvelope } from "@connectrpc/connect/protocol";
import { setGrpcErrorTrailer } from "./grpc-status.js";
import type { LeanRequest } from "./lean-request.js";
import { nodeHeaders } from "./node-headers.js";

/**
 * Writes a gRPC unary answer as connect-es does: headers (with
 * `grpc-encoding` when an encoding was negotiated), the message in one frame
 * (compressed when at least `compressMinBytes`), then trailers with
 * `grpc-status`; or, for an error, headers then trailers carrying its
 * status, message, details (`grpc-status-details-bin`) and metadata.
 */
export async function writeGrpcAnswer(
  res: ServerResponse | Http2ServerResponse,
  call: LeanRequest,
  header: Headers,
  trailer: Headers,
  outcome: { message: Uint8Array } | { error: ConnectError },
  options: { compressMinBytes: number },
): Promise<void> {
  let frame: Uint8Array | undefined;
  if ("message" in outcome) {
    const compress = call.compression !== null && outcome.message.byteLength >= options.compressMinBytes;
    frame = compress ? encodeEnvelope(compressedFlag, await call.compression!.compress(outcome.message)) : encodeEnvelope(0, outcome.message);
  } else setGrpcErrorTrailer(trailer, outcome.error);
  res.writeHead(200, nodeHeaders(header));
  res.addTrailers(nodeHeaders(trailer));
  if (frame) res.end(frame);
  else res.end();
}
