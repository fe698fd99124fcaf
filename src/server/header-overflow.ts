// A request whose header block is past the gateway's limit, refused in the
// shape of the API it was for: gRPC and gRPC-Web with a grpc-status, Connect
// with its error JSON, the OpenAI and Anthropic REST surfaces with theirs,
// all saying which limit it was. Node refuses such a request before any
// handler runs (HTTP/1.1: `clientError`, with only the bytes it had read;
// HTTP/2: nghttp2 resets the stream), so the answer is built here, from
// what is known of the request: its path and the headers read so far (the
// shapes are ./shaped-refusal.ts's).
import { STATUS_CODES } from "node:http";
import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError, REQUEST_HEADERS_TOO_LARGE } from "../common/gateway-error.js";
import { absoluteTarget } from "./request-target.js";
import { shapedRefusal, type RefusalAnswer, type RequestHead } from "./shaped-refusal.js";

export function headersTooLarge(limitBytes: number): ConnectError {
  return gatewayError(
    Code.ResourceExhausted,
    `the request's headers are larger than the ${limitBytes} bytes the gateway accepts; send fewer or shorter headers (a cookie or token may have grown)`,
    REQUEST_HEADERS_TOO_LARGE,
    { limit_bytes: String(limitBytes) },
  );
}

const encoder = new TextEncoder();

/**
 * The refusal in the shape the request's API speaks (./shaped-refusal.ts):
 * HTTP answers say 431, gRPC 200 with grpc-status RESOURCE_EXHAUSTED. No
 * request read at all: plain text.
 */
export function overflowAnswer(head: RequestHead | undefined, limitBytes: number): RefusalAnswer {
  const error = headersTooLarge(limitBytes);
  if (!head) return { status: 431, headers: { "content-type": "text/plain; charset=utf-8" }, body: encoder.encode(`${error.rawMessage}\n`) };
  return shapedRefusal(head, error, 431);
}

/** An answer as HTTP/1.1 bytes, for a socket no response object owns; the connection closes after it. */
export function http1Bytes(answer: RefusalAnswer): Buffer {
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}`, "connection: close", `content-length: ${answer.body.byteLength}`];
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), answer.body]);
}

const REQUEST_LINE = /^[A-Z]{1,16} (\S{1,16384}) HTTP\/1\.[01]\r\n/;

/**
 * What an HTTP/1.1 request's first bytes say of it: the path of its request
 * line (an absolute-form target's too), and the headers complete in them (not
 * the one that overflowed). Undefined when they do not begin with a request
 * line (the overflow came in a later read than the request's start).
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
  const target = absoluteTarget(line[1]!)?.path ?? line[1]!;
  return { path: target.split("?", 1)[0]!, header: (name) => headers.get(name) };
}

/**
 * How many header fields Node's HTTP/2 server takes in one list (its `maxHeaderListPairs`), for the
 * list size it advertises. Left at Node's 128, a request with more fields, however small, got a bare
 * RST_STREAM(ENHANCE_YOUR_CALM), no status a caller can read. Each field counts at least 33 bytes
 * toward the size (a name, and 32), so past this many the list is past the size anyway: the size
 * alone decides, and a list past the gateway's limit is answered in its API's shape.
 */
export function http2HeaderPairs(settings: { maxHeaderListSize?: number }): number | undefined {
  return settings.maxHeaderListSize === undefined ? undefined : Math.ceil(settings.maxHeaderListSize / 32);
}

/** An HTTP/2 request's header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2): each field's name and value, and 32 bytes. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length;
  return bytes + 16 * rawHeaders.length;
}
