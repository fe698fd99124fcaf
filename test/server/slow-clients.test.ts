// What the one-port server does with the connections it accepts (issues 10
// and 20): it bounds the time a client takes to send a request (not the time
// to answer it), closes idle connections and sessions, caps the connections
// one address and everyone may hold, so that no slow or idle client stops the
// others from being served, and turns Nagle's algorithm off.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { openFileLimit } from "../../src/server/open-file-limit.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { counted, openRawClient, trickle, useCleanup, type RawClient } from "../support/raw-clients.js";

/** Every timeout of the servers under test, small so that the tests wait little. */
const TIMEOUT_MS = 300;
/** How often a slow client sends its next byte: well inside any timeout, so only a hard deadline stops it. */
const TRICKLE_MS = 50;
/** The legitimate client's address; attackers use others on 127/8. */
const GOOD_CLIENT = "127.0.0.2";

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hello" }] };
const authenticated: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${MASTER_KEY}`);
  return next(req);
};

let certDir: string;
let cert: { certFile: string; keyFile: string };
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), "sb-slow-"));
  cert = { certFile: join(certDir, "cert.pem"), keyFile: join(certDir, "key.pem") };
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", cert.keyFile, "-out", cert.certFile,
  ], { stdio: "ignore" });
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

const cleanup = useCleanup();




function until(predicate: () => boolean): Promise<void> {
  return expect.poll(predicate, { timeout: 10_000, interval: 5 }).toBe(true);
}


/**
 * A one-port server with small timeouts and a handler that reads the body and
 * answers "ok"; at /hold it answers only when the test releases it.
 */
async function startServer(options: { tls: boolean }) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const server = new OnePortServer({
    host: "127.0.0.1",
    port: 0,
    tls: options.tls ? cert : undefined,
    logger: createLogger("silent"),
    metrics,
    limits: { headersTimeoutMs: TIMEOUT_MS, requestTimeoutMs: TIMEOUT_MS, keepAliveTimeoutMs: TIMEOUT_MS, http2IdleTimeoutMs: TIMEOUT_MS },
    handler: (req, res) => {
      if (req.url === "/hold") holding();
      req.on("data", () => {});
      req.on("end", async () => {
        if (req.url === "/hold") await released;
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
    },
  });
  const { port } = await server.listen();
  cleanup.push(() => server.shutdown(0));
  return { port, metrics, release, held };
}

describe("a flood of slow clients against a real gateway", () => {
  const SLOWLORIS = 1_000;
  const HALF_SENT = 5_000;
  /** Each attacking address holds exactly this many: 127.0.0.3 the slowloris connections, 127.0.0.4-8 the half-sent requests. */
  const PER_CLIENT = 1_000;
  /**
   * Long enough to open them all before the first is due: that takes 1.5 s of CPU, and up to 9 s
   * on a busy 2-core machine. The test waits for the closes (events), not for the clock.
   */
  const HEADERS_TIMEOUT_MS = 10_000;

  it("holds 1,000 slowloris connections and 5,000 half-sent requests at their caps, serves another client all along, then closes them all", async () => {
    // Two descriptors per connection in this process (the client's end and the gateway's).
    expect(openFileLimit() ?? Infinity, "ulimit -n must leave room for 12,000 sockets").toBeGreaterThan(2 * (SLOWLORIS + HALF_SENT) + 1_000);
    const fake = await startOpenAIFake({ apiKey: "sk-up" });
    const gw = await startGateway(
      { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl },
      { server: { headers_timeout_ms: HEADERS_TIMEOUT_MS, max_connections_per_client: PER_CLIENT } },
    );
    cleanup.push(() => fake.close(), () => gw.stop());

    const openMany = async (count: number, from: string, first: string): Promise<RawClient[]> => {
      const clients: RawClient[] = [];
      for (let i = 0; i < count; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => openRawClient(gw.port, cleanup, { from })));
        for (const client of batch) client.socket.write(first);
        clients.push(...batch);
        // The gateway shares this event loop and accepts about one connection per turn: let it catch
        // up, or its accept queue overflows and the kernel drops SYNs (retried a second later).
        for (let turn = 0; turn < 2 * batch.length; turn++) await new Promise((resolve) => setImmediate(resolve));
      }
      return clients;
    };
    const slowloris = await openMany(SLOWLORIS, "127.0.0.3", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    // One timer for all: a header byte each now and then.
    const drip = setInterval(() => {
      for (const client of slowloris) if (!client.isClosed()) client.socket.write("a");
    }, HEADERS_TIMEOUT_MS / 8);
    cleanup.push(() => clearInterval(drip));
    const halfSent: RawClient[] = [];
    for (let host = 4; host < 4 + HALF_SENT / PER_CLIENT; host++) halfSent.push(...(await openMany(PER_CLIENT, `127.0.0.${host}`, "POST / HTTP/1.1\r\nHost: x\r\n")));
    const attackers = [...slowloris, ...halfSent];

    // All held at once: each attacking address is at its cap, and one more is refused.
    expect(attackers.filter((client) => client.isClosed()).length, "all opened before the first was due").toBe(0);
    const extra = await openRawClient(gw.port, cleanup, { from: "127.0.0.3" });
    await extra.closed;
    expect(extra.received()).toMatch(/^HTTP\/1\.1 503 /);

    // Meanwhile another client is served: Connect over HTTP/1.1, gRPC over h2c, and REST.
    const { connect, grpc } = goodClient(gw);
    expect((await connect.chat(hello)).message?.content).toBe("Echo: hello");
    expect((await grpc.chat(hello)).message?.content).toBe("Echo: hello");
    const rest = await restChat(gw.port, GOOD_CLIENT);
    expect(rest.status).toBe(200);
    expect(JSON.parse(rest.body).choices[0].message.content).toBe("Echo: hello");
    expect(attackers.filter((client) => client.isClosed()).length, "the attack was still held while the calls were served").toBe(0);

    // Then the gateway closes every one of them, each with a 408.
    await Promise.all(attackers.map((client) => client.closed));
    expect(attackers.filter((client) => !client.received().startsWith("HTTP/1.1 408 "))).toHaveLength(0);
    expect(await counted(gw.app.metrics.slowClients, { waiting_for: "headers" })).toBe(SLOWLORIS + HALF_SENT);
    expect(await counted(gw.app.metrics.connectionsRefused, { limit: "per_client" })).toBe(1);
  }, 60_000);
});

/** Connect (HTTP/1.1) and gRPC (h2c) clients calling from GOOD_CLIENT's address. */
function goodClient(gw: TestGateway) {
  // http2.connect passes localAddress on to net.connect, though its option type does not list it.
  const h2From = { localAddress: GOOD_CLIENT } as http2.ClientSessionOptions;
  return {
    connect: createClient(AIService, createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", nodeOptions: { localAddress: GOOD_CLIENT }, interceptors: [authenticated] })),
    grpc: createClient(AIService, createGrpcTransport({ baseUrl: gw.url, nodeOptions: h2From, interceptors: [authenticated] })),
  };
}

/** POST /v1/chat/completions from `from`, over a connection of its own. */
function restChat(port: number, from: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, localAddress: from, method: "POST", path: "/v1/chat/completions", agent: false, headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }));
  });
}

describe.each([
  { path: "plaintext", tls: false },
  { path: "TLS (ALPN http/1.1)", tls: true },
])("HTTP/1.1, $path", ({ tls: secure }) => {
  const alpn = secure ? "http/1.1" : undefined;

  it("closes a connection whose headers trickle in (slowloris), with a 408", async () => {
    const { port, metrics } = await startServer({ tls: secure });
    const client = await openRawClient(port, cleanup, { alpn });
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    trickle(client, TRICKLE_MS, cleanup);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(await counted(metrics.slowClients, { waiting_for: "headers" })).toBe(1);
  });

  it("closes a connection that sent half a request and then nothing", async () => {
    const { port } = await startServer({ tls: secure });
    const client = await openRawClient(port, cleanup, { alpn });
    client.socket.write("POST / HTTP/1.1\r\nHost: x\r\n");
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes a connection whose body trickles in, with a 408 (no answer had begun)", async () => {
    const { port, metrics } = await startServer({ tls: secure });
    const client = await openRawClient(port, cleanup, { alpn });
    client.socket.write("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\nfirst bytes");
    trickle(client, TRICKLE_MS, cleanup);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(await counted(metrics.slowClients, { waiting_for: "body" })).toBe(1);
  });

  it("closes a keep-alive connection left idle", async () => {
    const { port } = await startServer({ tls: secure });
    const client = await openRawClient(port, cleanup, { alpn });
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.closed;
    expect(client.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(1);
  });

  it("closes a keep-alive connection whose next request trickles in", async () => {
    const { port } = await startServer({ tls: secure });
    const client = await openRawClient(port, cleanup, { alpn });
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => client.received().includes("ok"));
    client.socket.write("GET / HTTP/1.1\r\nX-Slow: ");
    trickle(client, TRICKLE_MS, cleanup);
    await client.closed;
    expect(client.received()).toMatch(/HTTP\/1\.1 200 [^]*HTTP\/1\.1 408 /);
  });

  it("answers a call whose body has arrived, however long the answer takes", async () => {
    const { port, release, held } = await startServer({ tls: secure });
    const patient = await openRawClient(port, cleanup, { alpn });
    patient.socket.write("POST /hold HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\n");
    await held; // the headers have arrived, so the body's deadline runs from now...
    patient.socket.write("hello");
    // ...and has passed once a slow body sent after it has been cut off.
    const slow = await openRawClient(port, cleanup, { alpn });
    slow.socket.write("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\n");
    await slow.closed;
    release();
    await until(() => patient.received().includes("ok"));
    expect(patient.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(patient.isClosed()).toBe(false);
  });
});

describe.each([
  { path: "h2c", tls: false },
  { path: "TLS (ALPN h2)", tls: true },
])("HTTP/2, $path", ({ tls: secure }) => {
  function connect(port: number): http2.ClientHttp2Session {
    const session = secure
      ? http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      : http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    cleanup.push(() => session.destroy());
    return session;
  }
  const closed = (session: http2.ClientHttp2Session) => new Promise<void>((resolve) => (session.closed ? resolve() : session.once("close", () => resolve())));

  it("sends an idle session a GOAWAY, then closes it", async () => {
    const { port } = await startServer({ tls: secure });
    const session = connect(port);
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code: number) => resolve(code)));
    await closed(session);
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });

  it("keeps a session with a stream open however long the answer takes, and resets a stream whose body trickles in", async () => {
    const { port, release, held, metrics } = await startServer({ tls: secure });
    const patient = connect(port);
    const call = patient.request({ ":method": "POST", ":path": "/hold" });
    let answer = "";
    call.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    const answered = new Promise<void>((resolve) => call.once("end", () => resolve()));
    await held;
    call.end("hello");

    const slow = connect(port).request({ ":method": "POST", ":path": "/" });
    slow.on("error", () => {});
    slow.write("first bytes");
    const timer = setInterval(() => slow.write("a"), TRICKLE_MS);
    await new Promise<void>((resolve) => slow.once("close", () => resolve()));
    clearInterval(timer);
    expect(slow.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(await counted(metrics.slowClients, { waiting_for: "body" })).toBe(1);

    // By now the patient session has had a stream open for longer than the idle timeout.
    expect(patient.closed).toBe(false);
    release();
    await answered;
    expect(answer).toBe("ok");
  });
});

describe("the connection caps", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { max_connections: 8, max_connections_per_client: 3 } });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("refuse a client's connections beyond its cap with a 503, log it once, and go on serving other clients", async () => {
    for (let i = 0; i < 3; i++) await openRawClient(gw.port, cleanup, { from: "127.0.0.3" });
    const refusals = await Promise.all(Array.from({ length: 5 }, () => openRawClient(gw.port, cleanup, { from: "127.0.0.3" })));
    for (const refused of refusals) {
      await refused.closed;
      expect(refused.received()).toMatch(/^HTTP\/1\.1 503 /);
      expect(refused.received()).toMatch(/\r\nconnection: close\r\n/);
      expect(refused.received()).toMatch(/\r\nretry-after: 1\r\n/);
    }
    expect(await counted(gw.app.metrics.connectionsRefused, { limit: "per_client" })).toBe(5);
    expect(gw.logs.entries.filter((line) => line.msg?.startsWith("refusing connections"))).toHaveLength(1);

    const { connect, grpc } = goodClient(gw);
    expect((await connect.chat(hello)).message?.content).toBe("Echo: hello");
    expect((await grpc.chat(hello)).message?.content).toBe("Echo: hello");
  });

  it("refuse every client's connections beyond the gateway's cap", async () => {
    // One connection per address, each asking for /healthz and kept open, until the gateway is full.
    let refused: RawClient | undefined;
    for (let host = 10; host < 20 && !refused; host++) {
      const client = await openRawClient(gw.port, cleanup, { from: `127.0.0.${host}` });
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await until(() => client.received().startsWith("HTTP/1.1"));
      if (client.received().startsWith("HTTP/1.1 503 ")) refused = client;
    }
    await refused!.closed;
    expect(refused!.received()).toMatch(/\r\nretry-after: 1\r\n/);
    expect(await counted(gw.app.metrics.connectionsRefused, { limit: "total" })).toBe(1);
  });

  it("close a TLS connection beyond the cap at once (there is no HTTP to answer in before the handshake)", async () => {
    const server = new OnePortServer({
      host: "127.0.0.1",
      port: 0,
      tls: cert,
      logger: createLogger("silent"),
      limits: { maxConnectionsPerClient: 1 },
      handler: (_req, res) => res.end("ok"),
    });
    const { port } = await server.listen();
    cleanup.push(() => server.shutdown(0));
    await openRawClient(port, cleanup, { from: "127.0.0.3", alpn: "http/1.1" });
    await expect(openRawClient(port, cleanup, { from: "127.0.0.3", alpn: "http/1.1" })).rejects.toThrow();
    await openRawClient(port, cleanup, { from: GOOD_CLIENT, alpn: "http/1.1" });
  });
});

describe("every accepted connection", () => {
  it.each([
    { path: "plaintext", tls: false },
    { path: "TLS", tls: true },
  ])("has Nagle's algorithm off ($path), so stream chunks leave as they are written", async ({ tls: secure }) => {
    const setNoDelay = vi.spyOn(net.Socket.prototype, "setNoDelay");
    cleanup.push(() => setNoDelay.mockRestore());
    const server = new OnePortServer({
      host: "127.0.0.1",
      port: 0,
      tls: secure ? cert : undefined,
      logger: createLogger("silent"),
      handler: (_req, res) => res.end("ok"),
    });
    const { port } = await server.listen();
    cleanup.push(() => server.shutdown(0));
    const client = await openRawClient(port, cleanup, { alpn: secure ? "http/1.1" : undefined });
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => client.received().endsWith("ok"));
    // The gateway's end of the connection is the socket whose local port is the server's.
    const accepted = setNoDelay.mock.contexts.map((socket, call) => ({ socket: socket as net.Socket, enabled: setNoDelay.mock.calls[call]![0] }));
    expect(accepted.filter(({ socket }) => socket.localPort === port)).toEqual([expect.objectContaining({ enabled: true })]);
  });
});
