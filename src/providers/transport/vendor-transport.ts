import { Pool, errors as undiciErrors, type Dispatcher } from "undici";
import { abortKind } from "../../common/abort-kind.js";
import type { ResponseHeaders } from "../codec.js";
import { UpstreamError } from "../upstream-error.js";
import { jsonShapePast, MAX_ANSWER_CONTAINERS, MAX_ANSWER_VALUES, type JsonShape } from "./answer-shape.js";
import { FrameTooLarge } from "./frame-limit.js";
import { REQUEST_SENT, tellingRequestSent, type SentOptions } from "./request-sent.js";

export interface TransportRequest {
  method: "GET" | "POST";
  /** Below the base URL, starting with "/", query string included. */
  path: string;
  headers: Record<string, string>;
  /** JSON as UTF-8 bytes (undici would make bytes of a string anyway). */
  body?: string | Buffer;
  /** Fires on the caller's cancellation, deadline or an attempt timeout. */
  signal: AbortSignal;
  /** The credential's id (never the secret), for error messages. */
  credentialId?: string;
  /** Told once the request is written whole to the vendor's connection: from then on the vendor can bill it. */
  requestSent?: () => void;
}

export interface TransportResponse {
  status: number;
  headers: ResponseHeaders;
  body: Dispatcher.ResponseData["body"];
}

export interface TransportOptions {
  /** Most sockets kept open to the vendor's origin. */
  connections?: number;
  /** Idle keep-alive sockets are closed after this long. */
  keepAliveTimeoutMs?: number;
}

/** The most of an error body kept: vendors' error bodies are small, and a hostile one must not fill memory. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The largest whole (non-streamed) answer body read: 32 MiB. A chat answer is
 * a few KB; the longest any model writes (128k tokens) is about half a MB of
 * JSON, and a model list a few hundred KB. The body is held whole, then
 * parsed, so without a bound a broken or hostile vendor could make the
 * gateway hold any amount; beyond it the attempt fails as the vendor's
 * bad_response, and the rest is not read. Embedding answers get more room per
 * input (EMBEDDING_BYTES_PER_INPUT).
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * The room an embedding answer gets per input, beyond MAX_ANSWER_BYTES: a
 * vector of 4,096 dimensions (the widest common models) at 32 characters a
 * number in JSON, the longest a float prints. A batch of 2,048 inputs of
 * 3,072 dimensions (OpenAI's largest) is about 90 MB of JSON, legitimately.
 */
const EMBEDDING_BYTES_PER_INPUT = 4096 * 32;

/** The JSON values an embedding answer gets per input beyond MAX_ANSWER_VALUES: a vector of 4,096 dimensions and its object's fields. */
const EMBEDDING_VALUES_PER_INPUT = 4096 + 16;

/** The objects and arrays an embedding answer gets per input beyond MAX_ANSWER_CONTAINERS: its object and its vector, and room to spare. */
const EMBEDDING_CONTAINERS_PER_INPUT = 4;

/** The most of a whole answer read: its bytes, and what parsing them may build (answer-shape.ts). */
export interface AnswerLimit extends JsonShape {
  bytes: number;
}

export const WHOLE_ANSWER_LIMIT: AnswerLimit = { bytes: MAX_ANSWER_BYTES, containers: MAX_ANSWER_CONTAINERS, values: MAX_ANSWER_VALUES };

/** A whole answer's limit with room for the vectors of `inputs` embeddings. */
export function embeddingAnswerLimit(inputs: number): AnswerLimit {
  return {
    bytes: MAX_ANSWER_BYTES + inputs * EMBEDDING_BYTES_PER_INPUT,
    containers: MAX_ANSWER_CONTAINERS + inputs * EMBEDDING_CONTAINERS_PER_INPUT,
    values: MAX_ANSWER_VALUES + inputs * EMBEDDING_VALUES_PER_INPUT,
  };
}

const MIB = 1024 * 1024;
const UTF8 = new TextDecoder();

/**
 * HTTP to one vendor origin, for every dialect: one keep-alive pool built at
 * start-up (no per-call client on the hot path), cancellation by the call's
 * signal, and every transport failure classified as an UpstreamError
 * (refused, reset, DNS and TLS are `unreachable`; a fired deadline is
 * `timeout`; the caller going away is `cancelled`).
 */
export class VendorTransport {
  readonly provider: string;
  private readonly pool: Pool;
  /** The pool, telling each request's requestSent (request-sent.ts). */
  private readonly dispatcher: Pool;
  /** The base URL's path, which every request's path follows. */
  readonly basePath: string;

  constructor(provider: string, baseUrl: string, options: TransportOptions = {}) {
    const url = new URL(baseUrl);
    this.provider = provider;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 256,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      // Deadlines come from the call's signal; these would only stop a stuck socket.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.dispatcher = tellingRequestSent(this.pool);
  }

  async send(req: TransportRequest): Promise<TransportResponse> {
    if (req.signal.aborted) throw this.abortError(req);
    try {
      const options: SentOptions = { method: req.method, path: this.basePath + req.path, headers: req.headers, body: req.body, signal: req.signal, [REQUEST_SENT]: req.requestSent };
      const sending = this.dispatcher.request(options);
      const res = await unlessAborted(sending, req.signal);
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw this.classify(err, req);
    }
  }

  /**
   * A whole answer body as text; a socket failure or the call's abort becomes
   * an UpstreamError. A body longer than `limit.bytes` (its content-length says
   * so, or it gets there) is bad_response, and is not read further; so is one
   * whose JSON holds more objects, arrays or values than `limit` allows, before
   * anything parses it.
   */
  async text(res: TransportResponse, req: Pick<TransportRequest, "signal" | "credentialId">, limit: AnswerLimit = WHOLE_ANSWER_LIMIT): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (Number(res.headers["content-length"]) > limit.bytes) throw this.tooLarge(req, limit.bytes);
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limit.bytes) throw this.tooLarge(req, limit.bytes);
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (!res.body.destroyed) res.body.destroy();
      throw this.classify(err, req);
    }
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const past = jsonShapePast(bytes, limit);
    if (past) throw this.tooMany(req, past, limit[past]);
    // TextDecoder, as undici's text() does: a byte order mark is dropped, not left for JSON.parse to trip on.
    return UTF8.decode(bytes);
  }

  /** An error answer's body, at most 64 KiB of it (the rest is not read). */
  async errorText(res: TransportResponse): Promise<string> {
    let text = "";
    try {
      for await (const chunk of res.body) {
        text += (chunk as Buffer).toString("utf8");
        if (text.length > ERROR_BODY_LIMIT) {
          res.body.destroy();
          return text.slice(0, ERROR_BODY_LIMIT);
        }
      }
    } catch {
      // What arrived before the failure says enough.
    }
    return text;
  }

  /** Any failure while sending or reading, as an UpstreamError (one already classified passes as it is). */
  classify(err: unknown, req: Pick<TransportRequest, "signal" | "credentialId">): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (err instanceof FrameTooLarge) {
      return new UpstreamError({
        kind: "bad_response",
        provider: this.provider,
        credentialId: req.credentialId,
        message: `provider "${this.provider}" sent a stream event larger than ${mebibytes(err.limit)} MiB, the most the gateway reads of one event`,
      });
    }
    if (req.signal.aborted) return this.abortError(req);
    const code = (err as { code?: string }).code ?? "";
    const timedOut =
      err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    return new UpstreamError({
      kind: timedOut ? "timeout" : "unreachable",
      provider: this.provider,
      credentialId: req.credentialId,
      message: `provider "${this.provider}" could not be reached (${code || (err as Error).name || "network error"})`,
      vendorCode: code || undefined,
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private tooLarge(req: Pick<TransportRequest, "credentialId">, limit: number): UpstreamError {
    return new UpstreamError({
      kind: "bad_response",
      provider: this.provider,
      credentialId: req.credentialId,
      message: `provider "${this.provider}" answered with a body larger than ${mebibytes(limit)} MiB, the most the gateway reads of one answer`,
    });
  }

  private tooMany(req: Pick<TransportRequest, "credentialId">, what: keyof JsonShape, limit: number): UpstreamError {
    const things = what === "containers" ? "JSON objects and arrays" : "JSON values";
    return new UpstreamError({
      kind: "bad_response",
      provider: this.provider,
      credentialId: req.credentialId,
      message: `provider "${this.provider}" answered with more than ${limit} ${things}, the most the gateway reads of one answer`,
    });
  }

  private abortError(req: Pick<TransportRequest, "signal" | "credentialId">): UpstreamError {
    const kind = abortKind(req.signal);
    return new UpstreamError({
      kind,
      provider: this.provider,
      credentialId: req.credentialId,
      message: kind === "timeout" ? timeoutMessage(this.provider, req.signal.reason) : "the call was cancelled",
    });
  }
}

/**
 * `sending`'s answer, or the signal's reason as soon as it fires. undici
 * rejects a request aborted while it waits for a connection (queued, or its
 * connection still opening) only once that connection opens or its connect
 * timeout passes, 10 s later: the attempt, and the call, would wait that long
 * to end. An answer that comes after the abort is let go.
 */
function unlessAborted(sending: Promise<Dispatcher.ResponseData>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      sending.then(
        (res) => res.body.destroy(),
        () => {},
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    sending.then(
      (res) => {
        signal.removeEventListener("abort", onAbort);
        resolve(res);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * What cut a vendor off, as the gateway's own abort reason says it (an
 * attempt's bound names itself: "sent no first token within 30000 ms (first_token,
 * learnt bound)"); the caller's deadline otherwise. Only the gateway and
 * connect-es abort these signals, so the reason holds no vendor text.
 */
function timeoutMessage(provider: string, reason: unknown): string {
  if (reason instanceof DOMException && reason.message) return reason.message;
  return `provider "${provider}" did not answer before the caller's deadline`;
}

function mebibytes(bytes: number): string {
  return String(Math.round((bytes / MIB) * 10) / 10);
}

/** Whether an answer's content type is JSON (as opposed to an event stream). */
export function isJsonResponse(res: Pick<TransportResponse, "headers">): boolean {
  const type = res.headers["content-type"];
  return /\bjson\b/i.test(Array.isArray(type) ? (type[0] ?? "") : (type ?? ""));
}
