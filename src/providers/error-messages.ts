import { presetFor } from "../config/provider-presets.js";
import { hasNoSecret, type Credential } from "../secrets/credential.js";
import { redactSecrets } from "./redact.js";
import { UpstreamError, type UpstreamErrorKind } from "./upstream-error.js";

/** The message a caller sees: the vendor's own words where they help, never the key. */
export function describe(
  kind: UpstreamErrorKind,
  provider: string,
  credential: Credential,
  status: number | undefined,
  vendorMessage: string,
): string {
  switch (kind) {
    case "credential_rejected":
      // A keyless provider has no credential to replace: its server wants a key the gateway was never given.
      if (hasNoSecret(credential)) return `provider "${provider}" answered HTTP ${status ?? 401} to a call sent without a key: ${howToGiveKey(provider)}`;
      return `provider "${provider}" rejected the gateway's credential "${credential.id}" (#${credential.fingerprint}); an operator must replace it`;
    case "rate_limited":
      return `provider "${provider}" is rate limiting: ${vendorMessage || "too many requests"}`;
    case "quota_exhausted":
      return `provider "${provider}" quota exhausted: ${vendorMessage || "quota or balance used up"}`;
    case "account_refused":
      // The vendor's 403 reads like the caller's ("permission denied"): say whose it is.
      return `provider "${provider}" refused the gateway's own account (credential "${credential.id}"), not the request: ${vendorMessage || `HTTP ${status ?? 403}`}; an operator must give that account access (enable the model or API for it, or call from a region the vendor serves)`;
    case "overloaded":
      return `provider "${provider}" is unavailable${status ? ` (HTTP ${status})` : ""}: ${vendorMessage || "overloaded"}`;
    default:
      return vendorMessage ? `provider "${provider}": ${vendorMessage}` : `provider "${provider}" answered HTTP ${status ?? "?"}`;
  }
}

/** Where a keyless provider's key goes: the preset's variable, or the config file. */
function howToGiveKey(provider: string): string {
  const inFile = `providers.${provider}.api_key in the config file`;
  return presetFor(provider) ? `set ${provider.toUpperCase()}_API_KEY (or ${inFile})` : `set ${inFile}`;
}

/** The most of a vendor's own words that reach a caller, a log line or a span (an HTML error page says nothing useful after that). */
export const VENDOR_MESSAGE_MAX_CHARS = 500;

// A vendor's error code or type is an identifier ("invalid_api_key", "RESOURCE_EXHAUSTED", "336003", "InternalError.Algo").
const CODE_LIKE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The vendor's words, redacted whole and only then cut, so no part of a secret straddling the cut survives it. */
export function safeVendorMessage(message: string, credential: Credential, alsoSecret?: readonly string[]): string {
  return redactSecrets(message, credential, alsoSecret).slice(0, VENDOR_MESSAGE_MAX_CHARS);
}

/**
 * The vendor's error code, fit for logs and key-state reasons (which the admin
 * API returns): redacted, and dropped unless it still looks like a code, since
 * a vendor can put anything there (an echoed key included).
 */
export function safeVendorCode(code: string | undefined, credential: Credential, alsoSecret?: readonly string[]): string | undefined {
  if (!code) return undefined;
  const redacted = redactSecrets(code, credential, alsoSecret);
  return CODE_LIKE.test(redacted) ? redacted : undefined;
}

/** A field path (`messages[0].content`), the shape of OpenAI's `error.param`: a vendor can put anything there. */
const PARAM_LIKE = /^[A-Za-z0-9_.[\]-]{1,128}$/;

/** The field a vendor's error names: redacted, and dropped unless it still looks like a field path. */
export function safeVendorParam(param: string | undefined, credential: Credential, alsoSecret?: readonly string[]): string | undefined {
  if (!param) return undefined;
  const redacted = redactSecrets(param, credential, alsoSecret);
  return PARAM_LIKE.test(redacted) ? redacted : undefined;
}

export interface VendorErrorInit {
  kind: UpstreamErrorKind;
  provider: string;
  credential: Credential;
  /** The vendor's message as received, whole (never cut beforehand): it is redacted, then cut, here. */
  vendorMessage: string;
  status?: number;
  retryAfterMs?: number;
  /** The vendor's error code or type as received: it is redacted and checked here. */
  vendorCode?: string;
  /** The request field the vendor's error names, as received: it is redacted and checked here. */
  vendorParam?: string;
  /** Other secrets the vendor may echo (an access token): redacted too. */
  alsoSecret?: readonly string[];
  /** A more precise ErrorInfo reason than the kind's. */
  reason?: string;
}

/** A classified vendor error whose message and code are redacted, and the message worded for callers. */
export function vendorError(init: VendorErrorInit): UpstreamError {
  return new UpstreamError({
    kind: init.kind,
    provider: init.provider,
    credentialId: init.credential.id,
    status: init.status,
    retryAfterMs: init.retryAfterMs,
    reason: init.reason,
    vendorCode: safeVendorCode(init.vendorCode, init.credential, init.alsoSecret),
    vendorParam: safeVendorParam(init.vendorParam, init.credential, init.alsoSecret),
    message: describe(init.kind, init.provider, init.credential, init.status, safeVendorMessage(init.vendorMessage, init.credential, init.alsoSecret)),
  });
}
