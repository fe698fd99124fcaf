import { MAX_VENDOR_RETRY_AFTER_MS } from "../config/secrets-config.js";
import type { ResponseHeaders } from "./codec.js";

/**
 * A vendor's retry hint in ms: `retry-after-ms`, then `retry-after` (seconds or
 * an HTTP date), at most MAX_VENDOR_RETRY_AFTER_MS: the key pool benches a key
 * no longer, and a caller is not told to wait longer than that. Numbers are
 * read leniently (`1.5`, `1e9`): vendors send more than RFC 9110's integers.
 */
export function parseRetryAfter(headers: ResponseHeaders, now = Date.now()): number | undefined {
  const ms = amount(first(headers["retry-after-ms"]));
  if (ms !== undefined && ms >= 0) return capRetryAfter(Math.ceil(ms));
  const value = first(headers["retry-after"]);
  if (value === undefined) return undefined;
  // A number is never read as a date (Date.parse takes "-5" for a year); a negative one is no hint.
  const seconds = amount(value);
  if (seconds !== undefined) return seconds >= 0 ? capRetryAfter(Math.ceil(seconds * 1000)) : undefined;
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

/** A header's value as a decimal number (sign, fraction and exponent allowed, "-0" as 0); undefined when it is none. */
function amount(value: string | undefined): number | undefined {
  const text = value?.trim();
  return text !== undefined && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) + 0 : undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
