// An IPv6 client holds a whole /64 (SLAAC hands a host one; privacy addresses rotate within it),
// so per-client caps and shares keyed by the exact address gave it a fresh share with each new
// source address. Every per-client key now comes from clientKey: an IPv6 client is its /64, an
// IPv4-mapped address its IPv4 address. Loopback (::1) cannot rotate addresses, so the caps and
// shares are driven here with synthetic addresses.
import { EventEmitter } from "node:events";
import * as http2 from "node:http2";
import type * as net from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { clientKey } from "../../src/server/client-key.js";
import { clientLimits } from "../../src/server/client-limits.js";
import { ConnectionCaps } from "../../src/server/connection-caps.js";
import { Http2Sessions } from "../../src/server/http2-sessions.js";
import { RequestBodyBudget } from "../../src/server/request-body-budget.js";

/** Addresses one host may hold in its /64, each a fresh source address. */
const ROTATING = ["2001:db8:1:2::1", "2001:db8:1:2:a:b:c:d", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:DB8:1:2::7%eth0"];
/** Another host's /64, next door. */
const NEIGHBOUR = "2001:db8:1:3::1";

describe("clientKey", () => {
  it.each([
    ["an IPv4 address is itself", "203.0.113.7", "203.0.113.7"],
    ["an IPv4-mapped address is its IPv4 address", "::ffff:203.0.113.7", "203.0.113.7"],
    ["an IPv4-mapped address in hex groups too", "::ffff:cb00:7107", "203.0.113.7"],
    ["an IPv4-mapped address spelled out", "0:0:0:0:0:FFFF:203.0.113.7", "203.0.113.7"],
    ["an IPv6 address is its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["a compressed IPv6 address", "2001:db8::1", "2001:db8:0:0::/64"],
    ["loopback", "::1", "0:0:0:0::/64"],
    ["an IPv6 address ending in dotted IPv4 (NAT64)", "64:ff9b::203.0.113.7", "64:ff9b:0:0::/64"],
    ["a link-local address without its zone", "fe80::1%eth0", "fe80:0:0:0::/64"],
    ["an unknown remote address (a closed socket)", undefined, ""],
  ])("%s", (_, address, key) => {
    expect(clientKey(address)).toBe(key);
  });

  it("gives every address of one /64 the same key, and the next /64 another", () => {
    expect(new Set(ROTATING.map(clientKey))).toEqual(new Set(["2001:db8:1:2::/64"]));
    expect(clientKey(NEIGHBOUR)).not.toBe(clientKey(ROTATING[0]));
    expect(clientKey("::ffff:198.51.100.1")).toBe(clientKey("198.51.100.1"));
  });
});

/** A socket as the caps and the budget see it: its address, its events, and how it is closed. */
function fakeSocket(remoteAddress: string) {
  return Object.assign(new EventEmitter(), {
    remoteAddress,
    destroyed: false,
    destroy(this: { destroyed: boolean; emit(event: string): boolean }) {
      if (this.destroyed) return;
      this.destroyed = true;
      this.emit("close");
    },
    end: vi.fn(),
    resume: vi.fn(),
  });
}

const silent = createLogger("silent");

describe("a client rotating its IPv6 source address within its /64", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("shares one connection cap; its IPv4-mapped twin shares the IPv4 client's", () => {
    const refused: string[] = [];
    const caps = new ConnectionCaps({ maxConnections: 100, maxConnectionsPerClient: 3 }, { logger: silent, plaintext: false, refused: (limit) => refused.push(limit) });
    const admitted = ROTATING.map((address) => caps.admit(fakeSocket(address) as unknown as net.Socket));
    expect(admitted).toEqual([true, true, true, false]);
    expect(refused).toEqual(["per_client"]);
    expect(caps.admit(fakeSocket(NEIGHBOUR) as unknown as net.Socket)).toBe(true);

    const v4 = ["198.51.100.1", "::ffff:198.51.100.1", "198.51.100.1", "::ffff:198.51.100.1"];
    expect(v4.map((address) => caps.admit(fakeSocket(address) as unknown as net.Socket))).toEqual([true, true, true, false]);
  });

  it("shares one share of the HTTP/2 streams, over sessions from different addresses", () => {
    const refused: string[] = [];
    const sessions = new Http2Sessions(clientLimits({ maxOpenStreams: 100, maxOpenStreamsPerClient: 2 }), () => {}, (limit) => refused.push(limit));
    const streams = [...ROTATING, NEIGHBOUR].map((address) => {
      const session = Object.assign(new EventEmitter(), { socket: Object.assign(new EventEmitter(), { remoteAddress: address }), closed: false, destroyed: false, close: vi.fn(), destroy: vi.fn() });
      sessions.add(session as unknown as http2.ServerHttp2Session);
      const stream = Object.assign(new EventEmitter(), { state: { remoteClose: false }, close: vi.fn() });
      session.emit("stream", stream);
      return stream;
    });
    const reset = streams.map((stream) => stream.close.mock.calls[0]?.[0]);
    expect(reset).toEqual([undefined, undefined, http2.constants.NGHTTP2_REFUSED_STREAM, http2.constants.NGHTTP2_REFUSED_STREAM, undefined]);
    expect(refused).toEqual(["streams_per_client", "streams_per_client"]);
    sessions.destroy();
  });

  it("shares one share of the request-body budget", () => {
    const refused: string[] = [];
    const budget = new RequestBodyBudget({ totalBytes: 1_000, perConnectionBytes: 1_000, perClientBytes: 250, logger: silent, refused: (limit) => refused.push(limit) });
    const send = (address: string): boolean => {
      const socket = fakeSocket(address);
      const req = Object.assign(new EventEmitter(), { socket, headers: {}, url: "/v1/chat/completions", push: vi.fn((_chunk: Buffer) => true) });
      const res = Object.assign(new EventEmitter(), { headersSent: false });
      budget.watch(req as never, res as never);
      req.push(Buffer.alloc(100));
      return socket.end.mock.calls.length === 0;
    };
    expect([...ROTATING, NEIGHBOUR].map(send)).toEqual([true, true, false, false, true]);
    expect(refused).toEqual(["per_client", "per_client"]);
  });
});
