import { Pool, errors as undiciErrors, type Dispatcher } from "undici";
import { UpstreamError } from "./upstream-error.js";
import { abortKind } from "../common/abort-kind.js";

export interface UpstreamRequest {
  method: "GET" | "POST";
  /** Path below the base URL, starting with "/", query string included. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Aborts on the caller's cancellation or deadline. */
  signal: AbortSignal;
  /** Id of the credential in use, for error messages. */
  credentialId?: string;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

export interface HttpClientOptions {
  /** Most sockets kept open to the vendor's origin. */
  connections?: number;
  /** Idle keep-alive sockets are closed after this long. */
  keepAliveTimeoutMs?: number;
}

/**
 * One keep-alive connection pool per vendor origin, built once at start-up:
 * no per-call client construction on the hot path.
 */
export class UpstreamHttpClient {
  readonly provider: string;
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(provider: string, baseUrl: string, options: HttpClientOptions = {}) {
    const url = new URL(baseUrl);
    this.provider = provider;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 256,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      // Deadlines come from the caller's signal; these only stop a stuck socket.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (req.signal.aborted) throw this.abortError(req);
    try {
      const res = await this.pool.request({
        method: req.method,
        path: this.basePath + req.path,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw this.classify(err, req);
    }
  }

  /** Turns a failure while reading a response body into an UpstreamError too. */
  classify(err: unknown, req: Pick<UpstreamRequest, "signal" | "credentialId">): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (req.signal.aborted) return this.abortError(req);
    const code = (err as { code?: string }).code ?? "";
    const timedOut =
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError;
    return new UpstreamError({
      kind: timedOut ? "timeout" : "unreachable",
      provider: this.provider,
      credentialId: req.credentialId,
      message: `provider "${this.provider}" could not be reached (${code || (err as Error).name || "network error"})`,
      vendorCode: code || undefined,
    });
  }

  private abortError(req: Pick<UpstreamRequest, "signal" | "credentialId">): UpstreamError {
    const kind = abortKind(req.signal);
    return new UpstreamError({
      kind,
      provider: this.provider,
      credentialId: req.credentialId,
      message: kind === "timeout" ? `provider "${this.provider}" did not answer before the deadline` : "the call was cancelled",
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Reads `retry-after-ms`, then `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: UpstreamResponse["headers"], now = Date.now()): number | undefined {
  const ms = first(headers["retry-after-ms"]);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = first(headers["retry-after"]);
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads at most `limit` bytes of an error body; vendors' error bodies are small. */
export async function readBodyText(body: UpstreamResponse["body"], limit = 64 * 1024): Promise<string> {
  let text = "";
  for await (const chunk of body) {
    text += chunk.toString("utf8");
    if (text.length > limit) {
      body.destroy();
      return text.slice(0, limit);
    }
  }
  return text;
}
