import { Code } from "@connectrpc/connect";

/**
 * What went wrong upstream, in terms a caller or an operator can act on.
 * Every dialect maps its vendor's errors onto these once; the gateway and the
 * API surface never look at vendor status codes again.
 */
export type UpstreamErrorKind =
  /** The caller's request was rejected as invalid by the vendor. */
  | "bad_request"
  /** The vendor refused the gateway's own credential: an operator problem. */
  | "credential_rejected"
  /** Too many requests for this credential; retry after `retryAfterMs`. */
  | "rate_limited"
  /** The account's quota or balance is used up. */
  | "quota_exhausted"
  /**
   * The vendor refused the gateway's own account, not the caller's request, while the key itself is valid:
   * a model or API not enabled for it (not purchased, not activated), a country or region it does not serve.
   * An operator problem; another key (another account or project) or candidate may serve.
   */
  | "account_refused"
  /** The vendor says it is overloaded or failing (5xx, 529). */
  | "overloaded"
  /** The vendor could not be reached (refused, reset, DNS, TLS). */
  | "unreachable"
  /** The vendor did not answer in time. */
  | "timeout"
  /** The vendor blocked the prompt or answer for safety reasons. */
  | "content_filtered"
  /** The vendor does not know the model. */
  | "model_not_found"
  /**
   * The server answered 404 outside the vendor's own error shape (a web server's page, FastAPI's
   * `{"detail":"Not Found"}`): it has no such path, so the provider's base URL is wrong (endpoint-not-found.ts).
   */
  | "endpoint_not_found"
  /** The vendor or dialect does not offer this operation. */
  | "unsupported"
  /** The vendor answered something the gateway cannot understand. */
  | "bad_response"
  /** The caller went away. */
  | "cancelled";

export interface UpstreamErrorInit {
  kind: UpstreamErrorKind;
  provider: string;
  /** Safe to show a caller: vendor message with no secret in it. */
  message: string;
  /** What the message keeps from callers, for the operator's log line only (no secret either): the full path an endpoint_not_found called. */
  logDetail?: string;
  /** The credential's id (never the secret), when one was used. */
  credentialId?: string;
  /** HTTP status of the vendor's answer, when there was one. */
  status?: number;
  /** When the vendor says a retry may succeed. */
  retryAfterMs?: number;
  /**
   * The vendor's own word on retrying (its `x-should-retry` header): true, a
   * retry may succeed whatever the kind; false, not with the same key.
   */
  vendorSaysRetry?: boolean;
  /** The vendor's own error code or type, for logs. */
  vendorCode?: string;
  /** The request field the vendor named as the trouble (OpenAI's `error.param`), in the vendor's own request. */
  vendorParam?: string;
  /** A more precise ErrorInfo reason than the kind's (REASON_FOR_KIND), when the vendor's answer says more. */
  reason?: string;
}

/** A failed upstream call, classified. Thrown by adapters, caught by the gateway. */
export class UpstreamError extends Error {
  readonly kind: UpstreamErrorKind;
  readonly provider: string;
  readonly credentialId: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly vendorSaysRetry: boolean | undefined;
  readonly vendorCode: string | undefined;
  readonly vendorParam: string | undefined;
  readonly reason: string | undefined;
  readonly logDetail: string | undefined;

  constructor(init: UpstreamErrorInit) {
    super(init.message);
    this.name = "UpstreamError";
    this.kind = init.kind;
    this.provider = init.provider;
    this.credentialId = init.credentialId;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.vendorSaysRetry = init.vendorSaysRetry;
    this.vendorCode = init.vendorCode;
    this.vendorParam = init.vendorParam;
    this.reason = init.reason;
    this.logDetail = init.logDetail;
  }

  /** Whether another attempt (same or other credential or candidate) may succeed. */
  get retryable(): boolean {
    return this.vendorSaysRetry === true || RETRYABLE.has(this.kind);
  }

  /** This error with the vendor's own word on retrying it (unchanged without one). */
  withVendorSaysRetry(word: boolean | undefined): UpstreamError {
    if (word === undefined) return this;
    const { kind, provider, message, logDetail, credentialId, status, retryAfterMs, vendorCode, vendorParam, reason } = this;
    return new UpstreamError({ kind, provider, message, logDetail, credentialId, status, retryAfterMs, vendorCode, vendorParam, reason, vendorSaysRetry: word });
  }

  /** The label used in metrics: the HTTP status when there was one, else the kind. */
  get outcome(): string {
    return this.status !== undefined ? String(this.status) : this.kind;
  }
}

const RETRYABLE = new Set<UpstreamErrorKind>([
  "rate_limited",
  "overloaded",
  "unreachable",
  "timeout",
  "credential_rejected",
  "account_refused",
]);

/** The Connect code each kind becomes on the API surface. */
export const CODE_FOR_KIND: Record<UpstreamErrorKind, Code> = {
  bad_request: Code.InvalidArgument,
  credential_rejected: Code.Unavailable,
  rate_limited: Code.ResourceExhausted,
  quota_exhausted: Code.ResourceExhausted,
  // Refused, but not the caller's doing: the message and reason say it is the gateway's account.
  account_refused: Code.PermissionDenied,
  overloaded: Code.Unavailable,
  unreachable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  content_filtered: Code.InvalidArgument,
  model_not_found: Code.NotFound,
  // Not the caller's doing (FailedPrecondition would be a 400 "invalid request" on the REST surfaces): this
  // provider cannot serve until an operator fixes its base URL, as with a rejected key; another provider may.
  endpoint_not_found: Code.Unavailable,
  unsupported: Code.Unimplemented,
  bad_response: Code.Unavailable,
  cancelled: Code.Canceled,
};

/** Stable machine-readable reasons for `google.rpc.ErrorInfo`. */
export const REASON_FOR_KIND: Record<UpstreamErrorKind, string> = {
  bad_request: "UPSTREAM_BAD_REQUEST",
  credential_rejected: "UPSTREAM_CREDENTIAL_REJECTED",
  rate_limited: "UPSTREAM_RATE_LIMITED",
  quota_exhausted: "UPSTREAM_QUOTA_EXHAUSTED",
  account_refused: "UPSTREAM_ACCOUNT_REFUSED",
  overloaded: "UPSTREAM_OVERLOADED",
  unreachable: "UPSTREAM_UNREACHABLE",
  timeout: "UPSTREAM_TIMEOUT",
  content_filtered: "CONTENT_FILTERED",
  model_not_found: "UPSTREAM_MODEL_NOT_FOUND",
  endpoint_not_found: "UPSTREAM_ENDPOINT_NOT_FOUND",
  unsupported: "UNSUPPORTED_BY_PROVIDER",
  bad_response: "UPSTREAM_BAD_RESPONSE",
  cancelled: "CANCELLED",
};

export function isUpstreamError(err: unknown): err is UpstreamError {
  return err instanceof UpstreamError;
}

/** Shorthand for the common "the vendor doesn't do this" error. */
export function unsupported(provider: string, what: string): UpstreamError {
  return new UpstreamError({ kind: "unsupported", provider, message: `provider "${provider}" does not support ${what}` });
}
