// One client address, with no key, could take the gateway's whole pool of open HTTP/2 streams
// (a hundred per connection, on as many connections as it may hold) or its whole request-body
// budget (unfinished bodies on a few dozen connections), and every other client's gRPC, h2
// Connect and body-carrying calls were refused (transport audit, findings 1 and 3). Each client
// address now holds at most its share of either; past it, only that address is refused.
import * as http2 from "node:http2";
import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { gatewayOverOpenAIFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY, type TestGateway } from "../support/gateway.js";
import { counted, openRawClient, useCleanup } from "../support/raw-clients.js";

/** The address over its share; everyone else calls from 127.0.0.1, as the gateway's test clients do. */
const GREEDY = "127.0.0.2";
const KiB = 1024;
const MiB = 1024 * KiB;
const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hello" }] };
const authenticated: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${MASTER_KEY}`);
  return next(req);
};

/** A gRPC Chat with a key, from `from`: the prompt echoed, or why it failed. */
async function grpcChatFrom(gw: TestGateway, from: string): Promise<string> {
  // http2.connect passes localAddress on to net.connect, though its option type does not list it.
  const client = createClient(AIService, createGrpcTransport({ baseUrl: gw.url, nodeOptions: { localAddress: from } as http2.ClientSessionOptions, interceptors: [authenticated] }));
  try {
    return (await client.chat(hello)).message?.content ?? "";
  } catch (err) {
    return ConnectError.from(err).rawMessage;
  }
}

const cleanup = useCleanup();

/** An h2c session from `from`; destroyed at cleanup. */
function session(gw: TestGateway, from: string): http2.ClientHttp2Session {
  // http2.connect passes localAddress on to net.connect, though its option type does not list it.
  const client = http2.connect(gw.url, { localAddress: from } as http2.ClientSessionOptions);
  client.on("error", () => {});
  cleanup.push(() => client.destroy());
  return client;
}

/** A keyless gRPC Chat whose body is `bytes` of a 4 MiB message, never ended: held until request_timeout_ms. */
function unfinishedChat(client: http2.ClientHttp2Session, bytes = 0) {
  const stream = client.request({ ":method": "POST", ":path": "/switchboard.v1.AIService/Chat", "content-type": "application/grpc", te: "trailers" }, { endStream: false });
  stream.on("error", () => {});
  stream.resume();
  if (bytes > 0) {
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(4 * MiB, 1);
    stream.write(Buffer.concat([envelope, Buffer.alloc(bytes - 5, "u")]));
  }
  let rstCode: number | undefined;
  stream.once("close", () => (rstCode = stream.rstCode));
  return { stream, rstCode: () => rstCode };
}

describe("a client address's share of the HTTP/2 streams", () => {
  const world = gatewayOverOpenAIFake({ server: { max_open_streams: 6, max_open_streams_per_client: 4 } });

  it("past its share an address's new stream is refused (REFUSED_STREAM, counted), while other addresses are served; freed when one closes", async () => {
    // Over two sessions: the share is the address's, not a connection's.
    const [first, second] = [session(world.gw, GREEDY), session(world.gw, GREEDY)];
    // Seven keyless streams whose bodies never come: more than the gateway's 6, had it no shares.
    const streams = [...Array.from({ length: 4 }, () => unfinishedChat(first)), ...Array.from({ length: 3 }, () => unfinishedChat(second))];
    await expect.poll(() => streams.filter((s) => s.rstCode() !== undefined).length).toBe(3);
    expect(streams.map((s) => s.rstCode()).filter((code) => code !== undefined)).toEqual(Array(3).fill(http2.constants.NGHTTP2_REFUSED_STREAM));
    expect(await counted(world.gw.app.metrics.connectionsRefused, { limit: "streams_per_client" })).toBe(3);

    // The greedy address holds 4 of the gateway's 6: another address is served.
    expect(await grpcChatFrom(world.gw, "127.0.0.1")).toBe("Echo: hello");
    expect(await counted(world.gw.app.metrics.connectionsRefused, { limit: "streams" })).toBe(0);

    // The greedy address, even with a key, is refused until one of its streams closes.
    expect(await grpcChatFrom(world.gw, GREEDY)).toMatch(/REFUSED_STREAM/);
    expect(await counted(world.gw.app.metrics.connectionsRefused, { limit: "streams_per_client" })).toBe(4);
    streams.find((s) => s.rstCode() === undefined)!.stream.close(http2.constants.NGHTTP2_CANCEL);
    await expect.poll(() => grpcChatFrom(world.gw, GREEDY)).toBe("Echo: hello");
  });
});

describe("a client address's share of the request-body budget", () => {
  const world = gatewayOverOpenAIFake({ server: { max_buffered_request_bytes: 4 * MiB, max_buffered_request_bytes_per_client: 2 * MiB } });

  it("past its share an address's body is refused (HTTP/2: ENHANCE_YOUR_CALM; HTTP/1.1: 429, Connect's ResourceExhausted), while other addresses' bodies are served", async () => {
    // Five unfinished 1 MiB bodies from one address, one connection each: more than the gateway's 4 MiB, had it no shares.
    const bodies = Array.from({ length: 5 }, () => unfinishedChat(session(world.gw, GREEDY), MiB));
    // At most two fit in its 2 MiB; a refused body frees its bytes, so at least one stays held.
    await expect.poll(() => bodies.filter((body) => body.rstCode() !== undefined).length).toBeGreaterThanOrEqual(3);
    const refused = bodies.filter((body) => body.rstCode() !== undefined);
    expect(refused.length).toBeLessThanOrEqual(4);
    for (const body of refused) expect(body.rstCode()).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);

    // What it holds (1-2 MiB) leaves no room in its share for more, over HTTP/1.1 too...
    const h1 = await openRawClient(world.gw.port, cleanup, { from: GREEDY });
    h1.socket.write(`POST /switchboard.v1.AIService/Chat HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${2 * MiB}\r\n\r\n`);
    h1.socket.write(Buffer.alloc(1536 * KiB, " "));
    await h1.closed;
    expect(h1.received()).toMatch(/^HTTP\/1\.1 429 /);
    expect(h1.received()).toMatch(/\r\nretry-after: 1\r\n/);

    // ...while other addresses are served, body and all, over HTTP/2 and HTTP/1.1.
    expect(await grpcChatFrom(world.gw, "127.0.0.1")).toBe("Echo: hello");
    expect((await world.gw.client("connect").chat(hello)).message?.content).toBe("Echo: hello");
    expect(await counted(world.gw.app.metrics.requestBodiesRefused, { limit: "total" })).toBe(0);
  });
});
