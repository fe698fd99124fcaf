// A request refused before any handler or interceptor ran (headers past the
// limit, an unknown method, a content type or HTTP method no protocol
// takes), answered in the shape of the API it was for: gRPC and gRPC-Web
// with a grpc-status, Connect with its error JSON or end-of-stream frame,
// the OpenAI and Anthropic REST surfaces with theirs; each with the error's
// ErrorInfo. The shape comes from what is known of the request: its path and
// its headers.
import type { ServerHttp2Stream } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { isAnthropicRequest, VERSION_HEADER } from "../api/anthropic/messages-surface.js";
import { withKeysMasked } from "../api/envelope/masked-error.js";
import { toAnthropicError } from "../providers/anthropic/errors.js";
import { toOpenAIError } from "../providers/openai/errors.js";

/** What is known of a refused request: its path, and a header when it was read. */
export interface RequestHead {
  path: string;
  header(name: string): string | undefined;
}

export interface RefusalAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** gRPC's trailers-only answer: the status is in the headers, and the stream ends with them. */
  trailersOnly?: boolean;
}

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/**
 * `error` in the shape the request's API speaks, chosen as the handlers
 * would: by content type (gRPC, gRPC-Web, a Connect stream), then by path
 * (`/v1/…` is a REST surface's: Anthropic's when it claims it, else
 * OpenAI's, each with its own status), else a Connect unary error with
 * `httpStatus`. gRPC and the streams answer 200, their status in the
 * protocol's own place. `headers` go on every shape (`allow`, `accept-post`);
 * the error's metadata (`retry-after`, `x-request-id`) goes where connect-es
 * puts an interceptor's error's: the gRPC-Web trailer frame, the Connect
 * end-of-stream message, gRPC's trailers, a Connect unary error's headers.
 * A key a caller pasted into what the error quotes (a path) is masked, as
 * the envelopes mask every error.
 */
export function shapedRefusal(head: RequestHead, refusal: ConnectError, httpStatus: number, headers: Record<string, string> = {}): RefusalAnswer {
  const error = withKeysMasked(refusal);
  const type = head.header("content-type")?.toLowerCase() ?? "";
  if (type.startsWith("application/grpc-web")) {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    const frame = encodeEnvelope(trailerFlag, trailerSerialize(trailer));
    // grpc-web's text mode (its clients' default) reads the whole answer as base64.
    const body = type.startsWith("application/grpc-web-text") ? encoder.encode(Buffer.from(frame).toString("base64")) : frame;
    return { status: 200, headers: { ...outsideMetadata(headers, error), "content-type": type.split(";", 1)[0]! }, body };
  }
  if (type.startsWith("application/grpc")) {
    const trailer = new Headers({ "content-type": "application/grpc", ...outsideMetadata(headers, error) });
    setTrailerStatus(trailer, error);
    return { status: 200, headers: Object.fromEntries(trailer), body: new Uint8Array(0), trailersOnly: true };
  }
  if (type.startsWith("application/connect+")) {
    const body = encodeEnvelope(endStreamFlag, json(endStreamToJson(new Headers(), error, undefined)));
    return { status: 200, headers: { ...outsideMetadata(headers, error), "content-type": type.split(";", 1)[0]! }, body };
  }
  if (head.path.startsWith("/v1/")) {
    const rest = isAnthropicRequest(head.path, head.header(VERSION_HEADER)) ? toAnthropicError(error) : toOpenAIError(error);
    return { status: rest.status, headers: { ...headers, ...rest.headers }, body: json(rest.body) };
  }
  // As connect-es answers a unary error: its metadata as headers (the other shapes carry it in their trailers, or the REST error's headers).
  return { status: httpStatus, headers: { ...headers, ...Object.fromEntries(error.metadata), "content-type": "application/json" }, body: errorToJsonBytes(error, undefined) };
}

/**
 * `headers` but those the error's metadata carries: the streams' shapes put
 * that metadata in their trailers, and connect-es's clients add the response
 * headers to it, so a header given in both would read twice ("1, 1").
 */
function outsideMetadata(headers: Record<string, string>, error: ConnectError): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !error.metadata.has(name)));
}

/** An HTTP/1.1 or HTTP/2 (compatibility API) response, as Node's types and connect-node's have it. */
interface NodeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: Uint8Array): unknown;
}

/** Writes `answer` on a response nothing has been written on (a trailers-only answer as one HEADERS frame on HTTP/2). */
export function writeRefusal(res: NodeResponse, answer: RefusalAnswer): void {
  if (answer.trailersOnly && "stream" in res) {
    (res.stream as ServerHttp2Stream).respond({ ":status": answer.status, ...answer.headers }, { endStream: true });
    return;
  }
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}
