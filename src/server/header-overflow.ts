// A request whose header block is past the gateway's limit, refused in the
// shape of the API it was for: gRPC and gRPC-Web with a grpc-status, Connect
// with its error JSON, the OpenAI and Anthropic REST surfaces with theirs,
// all saying which limit it was. Node refuses such a request before any
// handler runs (HTTP/1.1: `clientError`, with only the bytes it had read;
// HTTP/2: nghttp2 resets the stream), so the answer is built here, from
// what is known of the request: its path and the headers read so far.
import { Code, type ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { isAnthropicRequest, VERSION_HEADER } from "../api/anthropic/messages-surface.js";
import { gatewayError, REQUEST_HEADERS_TOO_LARGE } from "../common/gateway-error.js";
import { toAnthropicError } from "../providers/anthropic/errors.js";
import { toOpenAIError } from "../providers/openai/errors.js";

/** What is known of a refused request: its path, and a header when it was read before the limit was reached. */
export interface RequestHead {
  path: string;
  header(name: string): string | undefined;
}

export interface OverflowAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** gRPC's trailers-only answer: the status is in the headers, and the stream ends with them. */
  trailersOnly?: boolean;
}

export function headersTooLarge(limitBytes: number): ConnectError {
  return gatewayError(
    Code.ResourceExhausted,
    `the request's headers are larger than the ${limitBytes} bytes the gateway accepts; send fewer or shorter headers (a cookie or token may have grown)`,
    REQUEST_HEADERS_TOO_LARGE,
    { limit_bytes: String(limitBytes) },
  );
}

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/**
 * The refusal in the shape the request's API speaks, chosen as the handlers
 * would: by content type (gRPC, gRPC-Web, a Connect stream), then by path
 * (`/v1/…` is a REST surface's: Anthropic's when it claims it, else
 * OpenAI's), else a Connect unary error. HTTP answers say 431, gRPC 200
 * with grpc-status RESOURCE_EXHAUSTED. No request read at all: plain text.
 */
export function overflowAnswer(head: RequestHead | undefined, limitBytes: number): OverflowAnswer {
  const error = headersTooLarge(limitBytes);
  if (!head) return { status: 431, headers: { "content-type": "text/plain; charset=utf-8" }, body: encoder.encode(`${error.rawMessage}\n`) };
  const type = head.header("content-type")?.toLowerCase() ?? "";
  if (type.startsWith("application/grpc-web")) {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    return { status: 200, headers: { "content-type": type.split(";", 1)[0]! }, body: encodeEnvelope(trailerFlag, trailerSerialize(trailer)) };
  }
  if (type.startsWith("application/grpc")) {
    const trailer = new Headers({ "content-type": "application/grpc" });
    setTrailerStatus(trailer, error);
    return { status: 200, headers: Object.fromEntries(trailer), body: new Uint8Array(0), trailersOnly: true };
  }
  if (type.startsWith("application/connect+")) {
    return { status: 200, headers: { "content-type": type.split(";", 1)[0]! }, body: encodeEnvelope(endStreamFlag, json(endStreamToJson(new Headers(), error, undefined))) };
  }
  if (head.path.startsWith("/v1/")) {
    const { status, headers, body } = isAnthropicRequest(head.path, head.header(VERSION_HEADER)) ? toAnthropicError(error) : toOpenAIError(error);
    return { status, headers, body: json(body) };
  }
  return { status: 431, headers: { "content-type": "application/json" }, body: errorToJsonBytes(error, undefined) };
}

const REASON_PHRASES: Record<number, string> = { 200: "OK", 431: "Request Header Fields Too Large" };

/** An answer as HTTP/1.1 bytes, for a socket no response object owns; the connection closes after it. */
export function http1Bytes(answer: OverflowAnswer): Buffer {
  const lines = [`HTTP/1.1 ${answer.status} ${REASON_PHRASES[answer.status] ?? ""}`, "connection: close", `content-length: ${answer.body.byteLength}`];
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), answer.body]);
}

const REQUEST_LINE = /^[A-Z]{1,16} (\S{1,16384}) HTTP\/1\.[01]\r\n/;

/**
 * What an HTTP/1.1 request's first bytes say of it: the path of its request
 * line, and the headers complete in them (not the one that overflowed).
 * Undefined when they do not begin with a request line (the overflow came in
 * a later read than the request's start).
 */
export function requestHeadOf(bytes: Buffer | undefined, limitBytes: number): RequestHead | undefined {
  if (!bytes) return undefined;
  const text = bytes.subarray(0, limitBytes).toString("latin1");
  const line = REQUEST_LINE.exec(text);
  if (!line) return undefined;
  const headers = new Map<string, string>();
  // The last line may be cut short: only lines that ended are read.
  for (const field of text.slice(line[0].length).split("\r\n").slice(0, -1)) {
    if (field === "") break;
    const colon = field.indexOf(":");
    if (colon > 0) headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  }
  return { path: line[1]!.split("?", 1)[0]!, header: (name) => headers.get(name) };
}

/** An HTTP/2 request's header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2): each field's name and value, and 32 bytes. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length;
  return bytes + 16 * rawHeaders.length;
}
