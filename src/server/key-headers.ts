import type { IncomingHttpHeaders } from "node:http";
import { KEY_HEADERS, LIST_SEPARATOR } from "../auth/authenticator.js";

/**
 * Node keeps the first of repeated `authorization` headers and drops the
 * others, over HTTP/1.1 and HTTP/2 alike (a repeated `x-api-key` it joins,
 * "k1, k2"): the gateway would judge the call by the first, where a proxy in
 * front reading the last saw another caller. Each key header that came more
 * than once is joined here as a list, from the raw headers, before anything
 * reads it (every surface reads `headers`), so that authentication sees
 * them all and refuses (auth/authenticator.ts, presentedKey).
 */
export function joinRepeatedKeyHeaders(req: { headers: IncomingHttpHeaders; rawHeaders: readonly string[] }): void {
  for (const name of KEY_HEADERS) {
    const values: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!);
    if (values.length > 1) req.headers[name] = values.join(LIST_SEPARATOR);
  }
}
