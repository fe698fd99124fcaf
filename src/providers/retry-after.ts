import { MAX_VENDOR_RETRY_AFTER_MS } from "../config/secrets-config.js";
import type { ResponseHeaders } from "./codec.js";

/**
 * A vendor's retry hint in ms: `retry-after-ms`, then `retry-after` (seconds or
 * an HTTP date), at most MAX_VENDOR_RETRY_AFTER_MS: the key pool benches a key
 * no longer, and a caller is not told to wait longer than that.
 */
export function parseRetryAfter(headers: ResponseHeaders, now = Date.now()): number | undefined {
  const ms = first(headers["retry-after-ms"]);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return capRetryAfter(Math.ceil(Number(ms)));
  const value = first(headers["retry-after"]);
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return capRetryAfter(Math.ceil(Number(value) * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : capRetryAfter(Math.max(0, date - now));
}

/**
 * A vendor's own word on retrying a failed request, `x-should-retry`, which
 * the OpenAI and Anthropic SDKs honour over the status: "true" or "false",
 * undefined when it gave none (or neither).
 */
export function parseShouldRetry(headers: ResponseHeaders): boolean | undefined {
  const value = first(headers["x-should-retry"])?.trim().toLowerCase();
  return value === "true" ? true : value === "false" ? false : undefined;
}

/** Bounds a vendor's retry hint (a header, Google's RetryInfo) to what the gateway relays. */
export function capRetryAfter(ms: number): number {
  return Math.min(ms, MAX_VENDOR_RETRY_AFTER_MS);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
