import { cors as connectCors } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Api-Key", "X-Request-Id", "Traceparent", "Tracestate"].join(", ");
// Every header an answer carries that a browser caller may act on (retry hints, what served and how).
const EXPOSED_HEADERS = [
  ...connectCors.exposedHeaders,
  "X-Request-Id",
  "X-Trace-Id",
  "Traceresponse",
  "Retry-After",
  "Retry-After-Ms",
  "X-Should-Retry",
  "X-Switchboard-Provider",
  "X-Switchboard-Cache",
  "X-Switchboard-Adjusted",
  "X-Switchboard-Unavailable-Providers",
].join(", ");
const ALLOWED_METHODS = [...connectCors.allowedMethods, "OPTIONS"].join(", ");

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
  res.setHeader("access-control-allow-headers", ALLOWED_HEADERS);
  res.setHeader("access-control-max-age", "7200");
  res.writeHead(204).end();
  return true;
}
