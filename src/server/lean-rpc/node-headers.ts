import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** A request's headers as the Fetch API's Headers, HTTP/2 pseudo-headers left out (as connect-node reads them). */
export function webHeaders(headers: IncomingHttpHeaders): Headers {
  const header = new Headers();
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") header.append(name, value);
    else for (const each of value) header.append(name, each);
  }
  return header;
}

/** Response headers (or trailers) for `writeHead` and `addTrailers`, a repeated name as a list (as connect-node writes them). */
export function nodeHeaders(header: Headers): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  header.forEach((value, name) => {
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else headers[name] = Array.isArray(seen) ? [...seen, value] : [String(seen), value];
  });
  return headers;
}
