// A gateway listening on loopback answers only requests addressed to this
// machine by a loopback name or an address. A web page whose DNS name is
// rebound to 127.0.0.1 is same-origin with the gateway as far as the browser
// knows (CORS does not apply), and would read /metrics (key ids, teams,
// spend) and /healthz; its requests carry its own name in Host, which no
// caller of a loopback listener needs. A listener on other addresses is left
// alone: a proxy or load balancer in front sends the Host its callers used.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { isIP } from "node:net";
import { isLoopbackHost } from "./metrics-access.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
type Handler = (req: Request, res: Response) => void;

const REFUSAL =
  "this gateway listens on loopback and answers only requests addressed to localhost or an IP address (Host); a proxy in front of it must send Host: localhost (docs/operations.md)\n";

/**
 * `handler`, refusing with 421 Misdirected Request, on every path, a request
 * whose Host (HTTP/2: :authority) is neither an IP literal nor `localhost`
 * (or a name under it) when `listenHost` is a loopback address.
 */
export function refuseForeignHostsOnLoopback(listenHost: string, handler: Handler): Handler {
  if (!isLoopbackHost(listenHost)) return handler;
  return (req, res) => {
    if (addressedHere(req)) return handler(req, res);
    res.writeHead(421, { "content-type": "text/plain; charset=utf-8" }).end(REFUSAL);
  };
}

/**
 * Whether the request names this machine as a loopback name or an address:
 * by its absolute-form target when it has one (RFC 9112 §3.2.2: then Host is
 * ignored; browsers send that form only to proxies), else by Host (HTTP/2:
 * :authority). A request without one passes: no browser sends such a
 * request, and the handler says what is wrong with it.
 */
function addressedHere(req: Request): boolean {
  const target = req.url ?? "";
  if (/^https?:\/\//i.test(target)) return URL.canParse(target) && addressesThisMachine(new URL(target).host);
  const authority = "authority" in req ? req.authority : req.headers.host;
  return !authority || addressesThisMachine(authority);
}

/** Verdicts by Host value, at most this many: a client sends the same one on every request. */
const MAX_VERDICTS = 256;
/** Longer Host values are judged every time (a DNS name is at most 253 characters): no client grows the memory by its header's size. */
const MAX_REMEMBERED_LENGTH = 300;
const verdicts = new Map<string, boolean>();

/** Whether a Host value names a loopback name or an address (which a rebound DNS name cannot be). */
export function addressesThisMachine(authority: string): boolean {
  // Parsing it as a URL is most of the check's cost, on every request: each value is judged once.
  if (authority.length > MAX_REMEMBERED_LENGTH) return judgedAddressesThisMachine(authority);
  let verdict = verdicts.get(authority);
  if (verdict === undefined) {
    verdict = judgedAddressesThisMachine(authority);
    // A client sending a new Host each time only refills it.
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(authority, verdict);
  }
  return verdict;
}

function judgedAddressesThisMachine(authority: string): boolean {
  if (!URL.canParse(`http://${authority}/`)) return false;
  // The URL parser reads Host as browsers write it: lower case, IPv4 in any of its forms, IPv6 in brackets.
  const host = new URL(`http://${authority}/`).hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return isIP(host) !== 0 || host === "localhost" || host.endsWith(".localhost");
}
