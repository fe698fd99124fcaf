import type { Credential } from "../secrets/credential.js";
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
      return `provider "${provider}" rejected the gateway's credential "${credential.id}" (#${credential.fingerprint}); an operator must replace it`;
    case "rate_limited":
      return `provider "${provider}" is rate limiting: ${vendorMessage || "too many requests"}`;
    case "quota_exhausted":
      return `provider "${provider}" quota exhausted: ${vendorMessage || "quota or balance used up"}`;
    case "overloaded":
      return `provider "${provider}" is unavailable${status ? ` (HTTP ${status})` : ""}: ${vendorMessage || "overloaded"}`;
    default:
      return vendorMessage ? `provider "${provider}": ${vendorMessage}` : `provider "${provider}" answered HTTP ${status ?? "?"}`;
  }
}

export interface VendorErrorInit {
  kind: UpstreamErrorKind;
  provider: string;
  credential: Credential;
  /** The vendor's message as received; it is redacted here. */
  vendorMessage: string;
  status?: number;
  retryAfterMs?: number;
  vendorCode?: string;
  /** Other secrets the vendor may echo (an access token): redacted too. */
  alsoSecret?: readonly string[];
}

/** A classified vendor error whose message is redacted and worded for callers. */
export function vendorError(init: VendorErrorInit): UpstreamError {
  return new UpstreamError({
    kind: init.kind,
    provider: init.provider,
    credentialId: init.credential.id,
    status: init.status,
    retryAfterMs: init.retryAfterMs,
    vendorCode: init.vendorCode || undefined,
    message: describe(init.kind, init.provider, init.credential, init.status, redactSecrets(init.vendorMessage, init.credential, init.alsoSecret)),
  });
}
