// A unary or server-streaming call whose body carries no message at all (an
// empty gRPC, gRPC-Web or Connect-stream body: not even the 5-byte envelope
// of an empty message). connect-es answers "protocol error: missing input
// message for unary method" with a bare UNIMPLEMENTED, which reads like the
// method not being there. gRPC's status codes (doc/statuscodes.md: "request
// cardinality violation") and connect-go alike answer it with UNIMPLEMENTED,
// so the code stays; the error says what was missing, under a reason of its
// own. (A Connect unary body is the message itself: an empty one is an empty
// message, and is served.)
import { Code, type ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { gatewayError } from "../common/gateway-error.js";
import { protocolOf, type Protocol } from "./envelope-flags.js";
import { isByteStream } from "./unread-body.js";

/** The reason of a unary or server-streaming call sent without its one request message: Unimplemented, as gRPC's spec asks. */
export const MISSING_REQUEST_MESSAGE = "MISSING_REQUEST_MESSAGE";

/** The same handler, failing the read of a request body that ends without a byte, for the methods that take exactly one message. */
export function withMissingMessageRefused(handler: UniversalHandler): UniversalHandler {
  const kind = handler.method.methodKind;
  // Client and bidi streams may send no message at all.
  if (kind !== "unary" && kind !== "server_streaming") return handler;
  const name = `${handler.service.typeName}/${handler.method.name}`;
  const answer = (req: UniversalServerRequest) => {
    const protocol = protocolOf(req.header.get("content-type") ?? "");
    if (!protocol || !isByteStream(req.body)) return handler(req);
    return handler({ ...req, body: failingWhenEmpty(req.body, () => missingMessage(name, protocol)) });
  };
  return Object.assign(answer, handler);
}

/** The body as it comes; once it has ended without a byte, the read fails with `error()` (connect-es answers it in the request's protocol). */
async function* failingWhenEmpty(body: AsyncIterable<Uint8Array>, error: () => ConnectError): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    yield chunk;
  }
  if (bytes === 0) throw error();
}

function missingMessage(name: string, protocol: Protocol): ConnectError {
  const message = `the request had no message: ${protocol.name} to ${name} carries exactly one, in a length-prefixed envelope (an empty message is the 5 bytes 00 00 00 00 00)`;
  return gatewayError(Code.Unimplemented, message, MISSING_REQUEST_MESSAGE, { method: name });
}
