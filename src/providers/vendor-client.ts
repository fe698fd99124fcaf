import type { JsonObject } from "@bufbuild/protobuf";
import type { Credential } from "../secrets/credential.js";
import { readBodyText, UpstreamHttpClient, type UpstreamResponse } from "./http-client.js";
import { readJson, readText } from "./response-body.js";
import type { UpstreamError } from "./upstream-error.js";

/** Whose key a request goes out with, and the caller's cancellation or deadline. */
export interface CallContext {
  credential: Credential;
  signal: AbortSignal;
}

export interface VendorRequest {
  method: "GET" | "POST";
  /** Path below the base URL, starting with "/", query string included. */
  path: string;
  /** Sent as JSON. */
  body?: JsonObject;
  /** Asks for an event stream instead of one JSON answer. */
  stream?: boolean;
}

/** A provider as its configuration gives it to every adapter. */
export interface VendorEndpoint {
  /** The provider's configured name, for error messages. */
  name: string;
  baseUrl: string;
  /** Configured headers on every request. They override the dialect's `defaultHeaders`; content-type, accept and the credential override them. */
  headers?: Record<string, string>;
  connections?: number;
}

/** How a dialect's requests differ. */
export interface VendorDialect {
  /** The dialect's own headers, which configured headers may override (Anthropic's `anthropic-version`). */
  defaultHeaders?: Record<string, string>;
  /** The credential in the vendor's header; left out where the credential travels otherwise (Qianfan v1's query string). */
  credentialHeaders?: (credential: Credential) => Record<string, string>;
  /** Headers that stream requests add last (DashScope's `x-dashscope-sse`). */
  streamHeaders?: Record<string, string>;
}

/** Maps an HTTP error answer (status >= 400) and its body text to the dialect's UpstreamError. */
export type HttpErrorMapper = (
  provider: string,
  credential: Credential,
  res: Pick<UpstreamResponse, "status" | "headers">,
  text: string,
) => UpstreamError;

export interface VendorClientDialect extends VendorDialect {
  httpError: HttpErrorMapper;
}

/** `authorization: Bearer <key>`, left out for an empty key (Ollama and local vLLM need none). */
export function bearerToken(credential: Credential): Record<string, string> {
  return credential.secret ? { authorization: `Bearer ${credential.secret}` } : {};
}

/** The key in a header of the vendor's own, left out for an empty key (a keyless proxy may hold the key itself). */
export function apiKeyHeader(name: string): (credential: Credential) => Record<string, string> {
  return (credential) => (credential.secret ? { [name]: credential.secret } : {});
}

/**
 * One vendor's HTTP plumbing, configured per dialect: the connection pool,
 * the JSON request headers with the credential put on the vendor's way, and
 * transport failures classified as UpstreamErrors. `request` leaves the
 * answer's status to the caller; see VendorClient for dialects whose errors
 * are HTTP errors.
 */
export class VendorHttp {
  readonly provider: string;
  /** The pool itself, for a request that needs other headers than `request` sends. */
  readonly http: UpstreamHttpClient;
  /** The configured headers, as given. */
  readonly configuredHeaders: Record<string, string>;
  private readonly defaultHeaders: Record<string, string>;
  private readonly credentialHeaders: (credential: Credential) => Record<string, string>;
  private readonly streamHeaders: Record<string, string>;

  constructor(endpoint: VendorEndpoint, dialect: VendorDialect = {}) {
    this.provider = endpoint.name;
    this.http = new UpstreamHttpClient(endpoint.name, endpoint.baseUrl, { connections: endpoint.connections });
    this.configuredHeaders = endpoint.headers ?? {};
    this.defaultHeaders = dialect.defaultHeaders ?? {};
    this.credentialHeaders = dialect.credentialHeaders ?? (() => ({}));
    this.streamHeaders = dialect.streamHeaders ?? {};
  }

  /** Sends a request and returns the answer whatever its status. */
  request(req: VendorRequest, call: CallContext): Promise<UpstreamResponse> {
    return this.http.request({
      method: req.method,
      path: req.path,
      headers: this.headers(call.credential, req.stream ?? false),
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: call.signal,
      credentialId: call.credential.id,
    });
  }

  /** Reads a whole answer body as text; a socket failure or the caller's abort becomes an UpstreamError. */
  readText(res: UpstreamResponse, call: CallContext): Promise<string> {
    return readText(this.http, res, call);
  }

  /** A failure while reading a stream, as an UpstreamError (one already classified passes as it is). */
  classify(err: unknown, call: CallContext): UpstreamError {
    return this.http.classify(err, { signal: call.signal, credentialId: call.credential.id });
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private headers(credential: Credential, stream: boolean): Record<string, string> {
    return {
      ...this.defaultHeaders,
      ...this.configuredHeaders,
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
      ...this.credentialHeaders(credential),
      ...(stream ? this.streamHeaders : {}),
    };
  }
}

/** VendorHttp for dialects whose errors are HTTP errors: an answer with status >= 400 is thrown as the dialect maps it. */
export class VendorClient extends VendorHttp {
  private readonly httpError: HttpErrorMapper;

  constructor(endpoint: VendorEndpoint, dialect: VendorClientDialect) {
    super(endpoint, dialect);
    this.httpError = dialect.httpError;
  }

  /** Sends a request; returns a successful answer, throws an error answer as the dialect's UpstreamError. */
  async send(req: VendorRequest, call: CallContext): Promise<UpstreamResponse> {
    const res = await this.request(req, call);
    if (res.status >= 400) {
      const text = await readBodyText(res.body).catch(() => "");
      throw this.httpError(this.provider, call.credential, res, text);
    }
    return res;
  }

  /** Sends a request and reads its whole JSON answer; a body that is not JSON is bad_response. */
  async json<T>(req: VendorRequest, call: CallContext): Promise<T> {
    return readJson<T>(this.http, await this.send(req, call), call);
  }
}
