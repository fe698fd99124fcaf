/**
 * How long a client may take to send a request, how long a connection may
 * idle, and how many connections, HTTP/2 streams, request-body bytes and
 * health watches one client and the whole gateway may hold.
 * Only what the client owes is bounded: the answer takes as long as it takes
 * (an LLM call or a stream may run for minutes), but a client must take it.
 */
export interface ClientLimits {
  /**
   * A request's headers must have arrived this long after the connection opened (with TLS: after
   * its handshake, which is allowed as long); the next request's, this long after the keep-alive
   * timeout if it had begun by then.
   */
  headersTimeoutMs: number;
  /** A request's body must have arrived this long after its headers did. */
  requestTimeoutMs: number;
  /** An HTTP/1.1 connection with no request in progress is closed after this. */
  keepAliveTimeoutMs: number;
  /** An HTTP/2 session with no open stream gets a GOAWAY and is closed after this. */
  http2IdleTimeoutMs: number;
  /** Connections held at once; beyond, new ones are refused. */
  maxConnections: number;
  /** Connections one client address (an IPv6 client: its /64, see ./client-key.ts) holds at once; beyond, its new ones are refused. */
  maxConnectionsPerClient: number;
  /** HTTP/2 streams open at once over every session; beyond, new streams are refused (REFUSED_STREAM). */
  maxOpenStreams: number;
  /** The same for one client address, over all its sessions; at most maxOpenStreams. */
  maxOpenStreamsPerClient: number;
  /**
   * HTTP/2 streams one client address may reset before their answer began, per second, over all
   * its sessions (a token bucket refilled at this rate); past it, the session that reset gets a
   * GOAWAY (ENHANCE_YOUR_CALM) and the address's new sessions are refused for a cool-down.
   */
  streamResetsPerClientPerSecond: number;
  /** The bucket's size: resets one client address may make at once before the rate applies. */
  streamResetBurstPerClient: number;
  /** A streamed answer whose client takes none of it for this long (its writes wait unread) is cut off. */
  answerStallTimeoutMs: number;
  /** Request-body bytes received and not yet complete (not yet handled), over every connection; beyond, new body bytes are refused. */
  maxBufferedRequestBytes: number;
  /** The same on one connection (HTTP/2: over all its streams); at most maxBufferedRequestBytes. */
  maxBufferedRequestBytesPerConnection: number;
  /** The same for one client address, over all its connections; at most maxBufferedRequestBytes. */
  maxBufferedRequestBytesPerClient: number;
  /** An HTTP/1.1 request's head (request line and headers) may hold this many bytes; past it, 431 in the API's shape. */
  maxHeaderBytes: number;
  /**
   * An HTTP/2 request's header list may hold this many bytes, as HTTP/2 counts them (each field's
   * name and value, and 32); past it, 431 or grpc-status RESOURCE_EXHAUSTED in the API's shape.
   */
  maxHeaderListBytes: number;
  /** grpc.health.v1.Health/Watch streams one client address holds at once; at most the instance's 100 (./health-service.ts). */
  maxHealthWatchesPerClient: number;
  /** A health watch ends (with OK; its client watches again) this long after it began, less up to a tenth at random. */
  healthWatchMaxAgeMs: number;
}

/** What the gateway is late with when it cuts a client off. */
export type SlowPart = "headers" | "body" | "answer";

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  // Callers are programs: a header block arrives in one round trip. 10 s covers a congested
  // link; Node's own default, 60 s, leaves a slow client six times as long to hold a socket.
  headersTimeoutMs: 10_000,
  // The largest body accepted (8 MB) at about 140 KB/s; a chat request is a few KB. nginx's
  // client_body_timeout is also 60 s.
  requestTimeoutMs: 60_000,
  // Longer than load balancers' 60 s idle timeout, so the balancer, not the gateway, closes an
  // idle connection (otherwise it may send a request on one the gateway is closing).
  keepAliveTimeoutMs: 65_000,
  // The same for HTTP/2; gRPC clients reconnect after a GOAWAY on their own.
  http2IdleTimeoutMs: 65_000,
  // An idle HTTP/2 session costs about 20 KB: 10,000 is about 200 MB at worst, and well
  // below the open-file limits Node runs with (it raises its soft limit to the hard one).
  maxConnections: 10_000,
  // One address may hold a tenth of the gateway. Behind a proxy every connection comes from
  // the proxy's address: raise it to max_connections there.
  maxConnectionsPerClient: 1_000,
  // A stream costs 5-14 KB before a byte of its body arrives (which is all the body budget counts),
  // and a client needs no key to open a hundred per connection: 20,000 is about 280 MB at worst.
  maxOpenStreams: 20_000,
  // A quarter of them per address: a thousand connections of a hundred streams each would be five
  // times the whole pool, so without a share one keyless address refused every other client's
  // gRPC. Behind a proxy every stream comes from the proxy's address: raise it to max_open_streams there.
  maxOpenStreamsPerClient: 5_000,
  // Far above what cancelling clients do (a gRPC client cancels a call it gave up on, one at a time),
  // far below a rapid reset's tens of thousands a second, each one a call started. nghttp2's own
  // guard counts per connection (a burst of 1000), so a thousand connections each stayed under it.
  streamResetsPerClientPerSecond: 200,
  streamResetBurstPerClient: 400,
  // A client reading a stream takes each event as it comes: one that has left a buffer's worth
  // unread for a minute has stopped, while its stream holds a vendor connection.
  answerStallTimeoutMs: 60_000,
  // Each body may be 8 MiB (the message limit), read whole before any interceptor checks the key:
  // 32 such bodies in all, 4 per connection, while calls' bodies are a few KB each.
  maxBufferedRequestBytes: 256 * 1024 * 1024,
  maxBufferedRequestBytesPerConnection: 32 * 1024 * 1024,
  // A quarter of the budget per address (8 of the largest bodies): without a share, one keyless
  // address could hold it all on 32 connections. Behind a proxy, raise it to max_buffered_request_bytes.
  maxBufferedRequestBytesPerClient: 64 * 1024 * 1024,
  // Node's own bounds, as they were before the gateway named them: its HTTP/1.1 parser's default
  // (a header block held while it is parsed, per connection) and nghttp2's SETTINGS_MAX_HEADER_LIST_SIZE.
  maxHeaderBytes: 16 * 1024,
  maxHeaderListBytes: 65_535,
  // A tenth of the instance's 100 (a gRPC client with client-side health checking watches once per
  // connection, and a host may run several): one keyless address held all 100 and every other
  // client's Watch was refused, which such clients read as the instance being unhealthy.
  // Behind a proxy every watch comes from the proxy's address: raise it to 100 there.
  maxHealthWatchesPerClient: 10,
  // So that a held watch frees its place in time. Not sooner: grpc-go reads any end of a watch as
  // unhealthy until its next watch answers, one round trip later (./health-service.ts).
  healthWatchMaxAgeMs: 30 * 60_000,
};

/** The limits with a default for each one not set. */
export function clientLimits(set: Partial<ClientLimits> = {}): ClientLimits {
  const given = Object.entries(set).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_CLIENT_LIMITS, ...Object.fromEntries(given) };
}
