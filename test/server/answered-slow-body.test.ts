// A request answered before its body has arrived (a 401 before the body is
// read, an early error) still owes the rest of its body within the request
// timeout: the body's deadline runs until the body has arrived or the
// connection closes, whatever the answer did. Otherwise a client trickling a
// body after the answer holds the connection for the keep-alive timeout and
// then the headers timeout on top.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { startGateway } from "../support/gateway.js";
import { counted, openRawClient, trickle, useCleanup } from "../support/raw-clients.js";

/** The body's deadline: the one timeout that should cut the slow clients below. */
const REQUEST_TIMEOUT_MS = 300;
/** Far longer than the body's deadline, so that a cut by them (a 408, "headers") shows the body's was not kept. */
const LONG_TIMEOUT_MS = 5_000;
/** How often a slow client sends its next byte: well inside every timeout. */
const TRICKLE_MS = 50;

const cleanup = useCleanup();





describe("a request answered before its body arrived", () => {
  it("is cut off for its body at the request timeout, not kept alive, when the rest trickles in", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const server = new OnePortServer({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      metrics,
      limits: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: LONG_TIMEOUT_MS, keepAliveTimeoutMs: LONG_TIMEOUT_MS },
      // Answers at once, without reading the body (as an authentication failure does).
      handler: (_req, res) => res.writeHead(401, { "content-type": "text/plain", "content-length": "2" }).end("no"),
    });
    const { port } = await server.listen();
    cleanup.push(() => server.shutdown(0));

    const client = await openRawClient(port, cleanup);
    client.socket.write("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 100000\r\n\r\nfirst bytes");
    await expect.poll(() => client.received(), { timeout: 10_000, interval: 5 }).toMatch(/no$/);
    trickle(client, TRICKLE_MS, cleanup, "x");
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(client.received()).not.toMatch(/HTTP\/1\.1 408 /);
    expect(await counted(metrics.slowClients, { waiting_for: "body" })).toBe(1);
    expect(await counted(metrics.slowClients, { waiting_for: "headers" })).toBe(0);
  });

  it("whose body then arrives whole keeps its connection for the next request", async () => {
    let answered = 0;
    const server = new OnePortServer({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      limits: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: LONG_TIMEOUT_MS, keepAliveTimeoutMs: LONG_TIMEOUT_MS },
      handler: (_req, res) => res.writeHead(401, { "content-type": "text/plain", "content-length": "4" }).end(`no ${++answered}`),
    });
    const { port } = await server.listen();
    cleanup.push(() => server.shutdown(0));

    const client = await openRawClient(port, cleanup);
    client.socket.write("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 10\r\n\r\nfirst");
    await expect.poll(() => client.received(), { timeout: 10_000, interval: 5 }).toMatch(/no 1$/);
    client.socket.write("bytes");
    // Had the body's deadline passed with the body still owed, this would find the connection closed.
    const outlived = new Promise<void>((resolve) => setTimeout(resolve, 2 * REQUEST_TIMEOUT_MS));
    await outlived;
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await expect.poll(() => client.received(), { timeout: 10_000, interval: 5 }).toMatch(/no 2$/);
  });

  it("on a real gateway: a call refused for want of a key is cut off at request_timeout_ms while its body trickles in", async () => {
    const gw = await startGateway(
      {},
      { server: { request_timeout_ms: REQUEST_TIMEOUT_MS, keep_alive_timeout_ms: LONG_TIMEOUT_MS, headers_timeout_ms: LONG_TIMEOUT_MS } },
    );
    cleanup.push(() => gw.stop());
    const client = await openRawClient(gw.port, cleanup);
    client.socket.write("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{");
    await expect.poll(() => client.received(), { timeout: 10_000, interval: 5 }).toMatch(/^HTTP\/1\.1 401 /);
    trickle(client, TRICKLE_MS, cleanup, "x");
    await client.closed;
    expect(client.received()).not.toMatch(/HTTP\/1\.1 408 /);
    expect(await counted(gw.app.metrics.slowClients, { waiting_for: "body" })).toBe(1);
    expect(await counted(gw.app.metrics.slowClients, { waiting_for: "headers" })).toBe(0);
  });
});
