import type { UpstreamErrorKind } from "./upstream-error.js";

/** Maps an HTTP error status and the vendor's error code to a kind a caller can act on. */
export function kindForStatus(status: number, code: string, message: string): UpstreamErrorKind {
  const text = `${code} ${message}`.toLowerCase();
  if (/content[_ ]?filter|unsafe|sensitive|safety/.test(text) && status < 500) return "content_filtered";
  if (/insufficient_quota|quota|balance|arrear|billing/.test(text) && status !== 401) return "quota_exhausted";
  if (status === 401 || status === 403) return "credential_rejected";
  if (status === 402) return "quota_exhausted";
  if (status === 404) return "model_not_found";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 409 || status >= 500) return "overloaded";
  if (status >= 400) return "bad_request";
  return "bad_response";
}
