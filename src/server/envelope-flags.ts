// Request envelopes with flags the protocols reserve. gRPC's length-prefixed
// message defines one flag, compressed (0x01); gRPC-Web adds trailers (0x80),
// which only answers carry; Connect adds end-of-stream (0x02), which request
// streams "must always leave unset", and reserves the rest. connect-es reads
// past them: a gRPC message flagged 0x02 or 0x80 was decoded and served, and
// an end frame in a Connect or gRPC-Web request was skipped. Such an envelope
// is refused with InvalidArgument, as the protocols' own implementations do.
// (The lean path takes only an envelope with no flag set and hands any other
// to connect-es, through this.)
import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import { withErrorInfo } from "../common/gateway-error.js";
import { isByteStream } from "./unread-body.js";

/** What a request's envelope may say, by the protocol its content type names. */
export interface Protocol {
  name: string;
  /** What the flags it reserves mean in an answer, if anything. */
  answerFlags: string;
}

const GRPC: Protocol = { name: "a gRPC request", answerFlags: "" };
const GRPC_WEB: Protocol = { name: "a gRPC-Web request", answerFlags: " (0x80 marks an answer's trailers)" };
const CONNECT: Protocol = { name: "a Connect request stream", answerFlags: " (0x02 marks the end of an answer)" };

/** The protocol of a request whose body is enveloped messages; undefined for any other (gRPC-Web's text mode is base64, which connect-es refuses unread). */
export function protocolOf(contentType: string): Protocol | undefined {
  const type = contentType.toLowerCase();
  if (type.startsWith("application/grpc-web-text")) return undefined;
  if (type.startsWith("application/grpc-web")) return GRPC_WEB;
  if (type.startsWith("application/grpc")) return GRPC;
  return type.startsWith("application/connect+") ? CONNECT : undefined;
}

/** The same handler, reading a request whose envelope sets a flag other than compressed as InvalidArgument. */
export function withEnvelopeFlagsChecked(handler: UniversalHandler): UniversalHandler {
  const answer = (req: UniversalServerRequest) => {
    const protocol = protocolOf(req.header.get("content-type") ?? "");
    if (!protocol || !isByteStream(req.body)) return handler(req);
    return handler({ ...req, body: withFlagsChecked(req.body, protocol) });
  };
  return Object.assign(answer, handler);
}

/**
 * The body as it comes, but failing at the first envelope with a reserved
 * flag, before the chunk that holds it reaches the reader (connect-es, which
 * answers the error in the request's protocol). Only the 5-byte prefixes are
 * read; messages are stepped over.
 */
async function* withFlagsChecked(body: AsyncIterable<Uint8Array>, protocol: Protocol): AsyncGenerator<Uint8Array> {
  let messageLeft = 0;
  let prefixRead = 0;
  let length = 0;
  let envelopes = 0;
  for await (const chunk of body) {
    for (let at = 0; at < chunk.byteLength; ) {
      if (messageLeft > 0) {
        const skipped = Math.min(messageLeft, chunk.byteLength - at);
        messageLeft -= skipped;
        at += skipped;
        continue;
      }
      const byte = chunk[at++]!;
      if (prefixRead === 0) {
        envelopes++;
        if ((byte & ~compressedFlag) !== 0) throw reservedFlags(byte, envelopes, protocol);
        length = 0;
      } else {
        length = length * 256 + byte;
      }
      if (++prefixRead === 5) {
        messageLeft = length;
        prefixRead = 0;
      }
    }
    yield chunk;
  }
}

function reservedFlags(flags: number, envelope: number, protocol: Protocol): ConnectError {
  const hex = `0x${flags.toString(16).padStart(2, "0")}`;
  const message = `envelope ${envelope} of the request has flags ${hex}: ${protocol.name} may set only the compressed flag (0x01)${protocol.answerFlags}`;
  return withErrorInfo(new ConnectError(message, Code.InvalidArgument));
}
