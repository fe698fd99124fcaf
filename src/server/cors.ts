import { cors as connectCors } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/**
 * The request headers a browser caller may send: Connect-Web's, the gateway's
 * own, and what the official OpenAI and Anthropic SDKs send when run in a
 * browser (`dangerouslyAllowBrowser`). `User-Agent` is among them: Firefox
 * lets fetch set it, which makes it a header the preflight must allow.
 */
const ALLOWED_HEADERS = [
  ...connectCors.allowedHeaders,
  "Authorization",
  "X-Api-Key",
  "X-Request-Id",
  "Traceparent",
  "Tracestate",
  "User-Agent",
  "Anthropic-Version",
  "Anthropic-Beta",
  "Anthropic-Dangerous-Direct-Browser-Access",
  "OpenAI-Organization",
  "OpenAI-Project",
  "OpenAI-Beta",
].join(", ");
/**
 * The SDKs' `X-Stainless-*` headers (OS, arch, runtime, retry count, timeout,
 * which helper made the call, ...) are an open family that grows with each
 * SDK release, and CORS has no wildcard for header names but "*" (which
 * would allow every header; it does not even cover Authorization). So a
 * preflight's requested headers of that family are named back to it, one by
 * one: each one asked for that matches the pattern, and nothing else.
 */
const SDK_HEADER = /^x-stainless-[a-z0-9-]{1,64}$/i;
/** Few enough that a preflight naming thousands of them gets no answer that large. */
const MAX_SDK_HEADERS = 32;
// Every header an answer carries that a browser caller may act on (retry hints, what served and how).
const EXPOSED_HEADERS = [
  ...connectCors.exposedHeaders,
  "X-Request-Id",
  // Anthropic's name for it, on /v1/messages (as Anthropic's own answers carry it).
  "Request-Id",
  "X-Trace-Id",
  "Traceresponse",
  "Retry-After",
  "Retry-After-Ms",
  "X-Should-Retry",
  "X-Switchboard-Provider",
  "X-Switchboard-Cache",
  "X-Switchboard-Downgraded",
  "X-Switchboard-Adjusted",
  "X-Switchboard-Unavailable-Providers",
  "X-Switchboard-Not-Stored",
].join(", ");
// DELETE: a stored answer of the Responses API (DELETE /v1/responses/{id}) is the caller's to delete.
const ALLOWED_METHODS = [...connectCors.allowedMethods, "DELETE", "OPTIONS"].join(", ");

/**
 * CORS for Connect-Web and browser REST callers. Keys travel in headers, not
 * cookies, so credentials are never allowed and "*" is a safe default.
 * Returns true when it answered the request (a preflight).
 */
export function applyCors(
  origins: readonly string[],
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const allowed = origins.includes("*") ? "*" : origins.includes(origin) ? origin : undefined;
  if (!allowed) return false;
  res.setHeader("access-control-allow-origin", allowed);
  if (allowed !== "*") res.setHeader("vary", "Origin");
  res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
  if (req.method !== "OPTIONS") return false;
  res.setHeader("access-control-allow-methods", ALLOWED_METHODS);
  res.setHeader("access-control-allow-headers", allowedHeaders(req.headers["access-control-request-headers"]));
  // The answer depends on the headers asked for: a cache must not give it to another preflight.
  res.setHeader("vary", allowed === "*" ? "Access-Control-Request-Headers" : "Origin, Access-Control-Request-Headers");
  res.setHeader("access-control-max-age", "7200");
  res.writeHead(204).end();
  return true;
}

/** The allowed headers, and those of the SDK family the preflight asks for. */
function allowedHeaders(requested: string | undefined): string {
  if (!requested) return ALLOWED_HEADERS;
  const sdkHeaders = [...new Set(requested.split(",").map((name) => name.trim().toLowerCase()))].filter((name) => SDK_HEADER.test(name)).slice(0, MAX_SDK_HEADERS);
  return sdkHeaders.length > 0 ? `${ALLOWED_HEADERS}, ${sdkHeaders.join(", ")}` : ALLOWED_HEADERS;
}
