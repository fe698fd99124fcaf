import { connect, constants, type ClientHttp2Session } from "node:http2";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromString, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

/**
 * Calls made byte by byte, for requests no well-behaved client would send
 * (undecodable bodies, broken frames, odd headers), in each protocol the
 * gateway serves, with the answer reduced to what the tests check.
 */
export interface RawAnswer {
  /** The HTTP status. */
  status: number;
  /** The RPC's code; 0 when it succeeded; undefined for a plain HTTP answer (404, 415) that names none. */
  code: number | undefined;
  message: string;
  /** The reason of the error's google.rpc.ErrorInfo, when it has one. */
  reason?: string;
  /** The response body (Connect unary and REST: the whole body; streams: the frames' data). */
  body: string;
}

/** A length-prefixed frame: one flags byte, a 4-byte big-endian length, the data. */
export function frame(data: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

/**
 * The frames of a length-prefixed body, their data decompressed when flagged
 * so (the server compresses its answer in the encoding the call used); a
 * truncated tail is dropped.
 */
export function frames(body: Uint8Array, encoding?: string | null): { flags: number; data: Uint8Array }[] {
  const out: { flags: number; data: Uint8Array }[] = [];
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const flags = body[at]!;
    const data = body.subarray(at + 5, at + 5 + length);
    out.push({ flags: flags & ~1, data: flags & 1 ? decompress(data, encoding) : data });
    at += 5 + length;
  }
  return out;
}

function decompress(data: Uint8Array, encoding?: string | null): Uint8Array {
  if (encoding === "gzip") return gunzipSync(data);
  if (encoding === "br") return brotliDecompressSync(data);
  throw new Error(`a frame is flagged compressed, but the answer names no encoding it could be in (${encoding ?? "none"})`);
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The ErrorInfo reason of the error `parse` finds, if any; undefined when there is none, or nothing parses. */
function reasonIn(parse: () => ConnectError | undefined): string | undefined {
  try {
    return parse()?.findDetails(ErrorInfoSchema)[0]?.reason;
  } catch {
    return undefined;
  }
}

/** A Connect unary call (POST): the code from the JSON error body, or 0 on HTTP 200. */
export async function connectUnary(baseUrl: string, path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<RawAnswer> {
  const res = await fetch(baseUrl + path, { method: "POST", headers, body });
  const raw = await res.text();
  if (res.status === 200) return { status: 200, code: 0, message: "", body: raw };
  const error = parseJson(raw) as { code?: string; message?: string } | undefined;
  return { status: res.status, code: codeOf(error?.code), message: error?.message ?? "", reason: reasonIn(() => errorFromJsonBytes(new TextEncoder().encode(raw), undefined, new ConnectError(""))), body: raw };
}

/** A Connect streaming call: the code from the end-of-stream frame. */
export async function connectStream(baseUrl: string, path: string, body: Uint8Array, headers: Record<string, string>): Promise<RawAnswer> {
  const res = await fetch(baseUrl + path, { method: "POST", headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, code: undefined, message: text(bytes), body: text(bytes) };
  const all = frames(bytes, res.headers.get("connect-content-encoding"));
  const end = all.find((f) => f.flags & 0b10);
  const error = (parseJson(end ? text(end.data) : "") as { error?: { code?: string; message?: string } } | undefined)?.error;
  const reason = end && reasonIn(() => endStreamFromJson(end.data).error);
  return { status: 200, code: end === undefined ? undefined : error ? codeOf(error.code ?? "") : 0, message: error?.message ?? "", reason, body: all.map((f) => text(f.data)).join("\n") };
}

/** A gRPC-Web call over HTTP/1.1: the code from the trailer frame. */
export async function grpcWeb(baseUrl: string, path: string, body: Uint8Array, headers: Record<string, string>): Promise<RawAnswer> {
  const res = await fetch(baseUrl + path, { method: "POST", headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const all = frames(bytes, res.headers.get("grpc-encoding"));
  const trailer = new Headers(
    text(all.find((f) => f.flags & 0x80)?.data ?? new Uint8Array())
      .split("\r\n")
      .filter((line) => line.includes(":"))
      .map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()] as [string, string]),
  );
  // A trailers-only answer puts them in the headers.
  const statusIn = trailer.has("grpc-status") ? trailer : res.headers;
  const status = statusIn.get("grpc-status");
  const message = decodeURIComponent(statusIn.get("grpc-message") ?? "");
  return { status: res.status, code: status === null ? undefined : Number(status), message, reason: reasonIn(() => findTrailerError(statusIn)), body: all.map((f) => text(f.data)).join("\n") };
}

/** One HTTP/2 connection for many gRPC calls (as gRPC clients keep one). */
export class GrpcConnection {
  private session: ClientHttp2Session;

  constructor(private readonly baseUrl: string) {
    this.session = this.open();
  }

  private open(): ClientHttp2Session {
    const session = connect(this.baseUrl);
    // A refused or reset connection fails the calls on it; the error is theirs to report.
    session.on("error", () => {});
    return session;
  }

  /** A gRPC call: the code from `grpc-status` in the trailers (or the headers of a trailers-only answer). */
  call(path: string, body: Uint8Array, headers: Record<string, string>): Promise<RawAnswer> {
    // A connection the server closed (GOAWAY) is replaced, as gRPC clients do.
    if (this.session.closed || this.session.destroyed) this.session = this.open();
    return new Promise((resolve, reject) => {
      const stream = this.session.request({ [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: path, te: "trailers", ...headers });
      let status = 0;
      let grpcStatus: string | undefined;
      let grpcMessage = "";
      const statusHeaders = new Headers();
      let encoding: string | undefined;
      const chunks: Buffer[] = [];
      const take = (h: Record<string, unknown>) => {
        if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
        for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) if (h[name] !== undefined) statusHeaders.set(name, String(h[name]));
      };
      stream.on("response", (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        encoding = h["grpc-encoding"] as string | undefined;
        take(h);
      });
      stream.on("trailers", take);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => {
        const data = frames(new Uint8Array(Buffer.concat(chunks)), encoding);
        resolve({
          status,
          code: grpcStatus === undefined ? undefined : Number(grpcStatus),
          message: grpcMessage,
          reason: reasonIn(() => findTrailerError(statusHeaders)),
          body: data.map((f) => text(f.data)).join("\n"),
        });
      });
      stream.end(body);
    });
  }

  close(): void {
    this.session.close();
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** The code a Connect error names (a name it does not know counts as Unknown). */
function codeOf(name: unknown): number | undefined {
  if (name === undefined) return undefined;
  return (typeof name === "string" ? codeFromString(name) : undefined) ?? Code.Unknown;
}
