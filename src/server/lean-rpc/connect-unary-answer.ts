import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { JsonWriteOptions } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes, trailerMux } from "@connectrpc/connect/protocol-connect";
import { withErrorInfo } from "../../common/gateway-error.js";
import { asDecodeFault } from "../request-faults.js";
import type { LeanRequest } from "./lean-request.js";
import { nodeHeaders } from "./node-headers.js";

/**
 * Writes a Connect unary answer as connect-es does: the message with status
 * 200, or the error as JSON with the HTTP status of its code and its metadata
 * as headers; compressed when negotiated and at least `compressMinBytes`;
 * trailers as `trailer-` headers; a content length. Internal decode failures
 * become InvalidArgument, as the router's request-faults wrapper makes them;
 * an error raised before any interceptor ran (the request did not decode)
 * also gets ErrorInfo there, as that wrapper gives it (but, as there, not in
 * a compressed answer, which it leaves alone).
 */
export async function writeConnectAnswer(
  res: ServerResponse | Http2ServerResponse,
  call: LeanRequest,
  header: Headers,
  trailer: Headers,
  outcome: { message: Uint8Array } | { error: ConnectError },
  options: { compressMinBytes: number; jsonOptions?: Partial<JsonWriteOptions>; beforeInterceptors?: boolean },
): Promise<void> {
  let status = 200;
  let body: Uint8Array;
  let error: ConnectError | undefined;
  if ("message" in outcome) body = outcome.message;
  else {
    error = outcome.error;
    status = codeToHttpStatus(error.code);
    header.set("content-type", "application/json");
    error.metadata.forEach((value, name) => header.set(name, value));
    body = errorToJsonBytes(error, options.jsonOptions);
  }
  const compressed = call.compression !== null && body.byteLength >= options.compressMinBytes;
  if (compressed) {
    body = await call.compression!.compress(body);
    header.set("content-encoding", call.compression!.name);
  } else if (error && options.beforeInterceptors) {
    const fault = withErrorInfo(asDecodeFault(error));
    status = codeToHttpStatus(fault.code);
    body = errorToJsonBytes(fault, undefined);
  } else if (error && status === 500) {
    const fault = asDecodeFault(error);
    if (fault !== error) {
      status = codeToHttpStatus(fault.code);
      body = errorToJsonBytes(fault, undefined);
    }
  }
  const headers = trailerMux(header, trailer);
  headers.set("content-length", String(body.byteLength));
  res.writeHead(status, nodeHeaders(headers));
  res.end(body);
}
