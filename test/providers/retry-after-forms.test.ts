// Every number form a vendor sends as a retry hint (RFC 9110's integer
// seconds, and the decimals and exponents some vendors send) is read as a
// number and capped the same way; what is no hint stays none.
import { describe, expect, it } from "vitest";
import { MAX_VENDOR_RETRY_AFTER_MS } from "../../src/config/secrets-config.js";
import { parseRetryAfter } from "../../src/providers/retry-after.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");

describe("retry-after in any number form", () => {
  it.each([
    ["1e9", MAX_VENDOR_RETRY_AFTER_MS],
    ["1E9", MAX_VENDOR_RETRY_AFTER_MS],
    ["1.5e3", MAX_VENDOR_RETRY_AFTER_MS],
    ["1e999", MAX_VENDOR_RETRY_AFTER_MS],
    ["1000000000", MAX_VENDOR_RETRY_AFTER_MS],
    ["2e1", 20_000],
    ["+3", 3_000],
    [" 3 ", 3_000],
    ["1.", 1_000],
    [".25", 250],
    ["0.0015", 2],
    ["0", 0],
    ["-0", 0],
  ])("retry-after: %s", (header, ms) => {
    expect(parseRetryAfter({ "retry-after": header }, NOW)).toBe(ms);
  });

  it("retry-after-ms takes the same forms, and comes first", () => {
    expect(parseRetryAfter({ "retry-after-ms": "2.5e3", "retry-after": "60" }, NOW)).toBe(2_500);
    expect(parseRetryAfter({ "retry-after-ms": "1e12" }, NOW)).toBe(MAX_VENDOR_RETRY_AFTER_MS);
  });

  it("a negative retry-after-ms is passed over for retry-after", () => {
    expect(parseRetryAfter({ "retry-after-ms": "-5", "retry-after": "7" }, NOW)).toBe(7_000);
  });

  it.each(["-5", "-1e3", "soon", "1e", "e9", "0x10", "Infinity", ""])("no hint from retry-after: %j", (header) => {
    expect(parseRetryAfter({ "retry-after": header }, NOW)).toBeUndefined();
  });

  it("an HTTP date still counts from now, and one past is no wait", () => {
    expect(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }, NOW)).toBe(30_000);
    expect(parseRetryAfter({ "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" }, NOW)).toBe(0);
  });
});
