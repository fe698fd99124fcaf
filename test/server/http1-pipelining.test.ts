// HTTP/1.1 pipelining: a client may send requests before it has read the answers to those
// before. Node answers them in order, and hands every request in what it has read to the
// handler at once; before Node 24 it also never closes the response of a request still queued
// when the connection closes, and the gateway waits for that 'close' to count a request
// finished, cancel its call and stop watching it for stalls (transport audit, finding 2). The
// one-port server works on one pipelined request at a time, refuses a connection that pipelines
// past MAX_PIPELINED_REQUESTS, and closes what is queued when the connection closes. Driven by
// events: no test waits for, or asserts, a time.
import type * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { MAX_PIPELINED_REQUESTS } from "../../src/server/http1-connections.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { counted, openRawClient, useCleanup } from "../support/raw-clients.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const cleanup = useCleanup();

interface Begun {
  path: string;
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/** A one-port server whose handler answers only when the test does, and that counts the most answers it had unfinished at once. */
async function startServer() {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const begun: Begun[] = [];
  let working = 0;
  let mostAtOnce = 0;
  const server = new OnePortServer({
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("silent"),
    metrics,
    handler: (req, res) => {
      working++;
      res.once("close", () => working--);
      mostAtOnce = Math.max(mostAtOnce, 1 + begun.filter((earlier) => !earlier.res.writableFinished).length);
      begun.push({ path: req.url!, req: req as http.IncomingMessage, res: res as http.ServerResponse });
    },
  });
  const { port } = await server.listen();
  cleanup.push(() => server.shutdown(0));
  return { server, port, metrics, begun, working: () => working, mostAtOnce: () => mostAtOnce };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`;
const paths = (count: number) => Array.from({ length: count }, (_, i) => `/${i + 1}`);
/** The bodies of the answers read so far, in order (each answer is `content-length` framed). */
const bodies = (received: string) => [...received.matchAll(/\r\n\r\n(\/[a-z0-9]+)/g)].map((match) => match[1]);

describe("HTTP/1.1 pipelining", () => {
  it(`works on one request at a time, and answers up to ${MAX_PIPELINED_REQUESTS} in order`, async () => {
    const { server, port, metrics, begun, mostAtOnce } = await startServer();
    const client = await openRawClient(port, cleanup);
    const sent = paths(MAX_PIPELINED_REQUESTS);
    client.socket.write(sent.map(get).join(""));
    for (const [i, path] of sent.entries()) {
      // The next request reaches the handler only once the answer before it has gone out.
      await expect.poll(() => begun.length).toBe(i + 1);
      expect(begun[i]!.path).toBe(path);
      begun[i]!.res.end(path);
    }
    await expect.poll(() => bodies(client.received())).toEqual(sent);
    expect(mostAtOnce()).toBe(1);
    await expect.poll(() => server.activeRequests).toBe(0);
    expect(client.isClosed()).toBe(false);
    expect(await counted(metrics.connectionsRefused, { limit: "pipelined" })).toBe(0);
  });

  it("hands a pipelined request its body, held while it waited", async () => {
    const { port, begun } = await startServer();
    const client = await openRawClient(port, cleanup);
    const body = "b".repeat(256 * 1024); // past what Node buffers for a request nobody reads yet
    client.socket.write(get("/first") + `POST /second HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    await expect.poll(() => begun.length).toBe(1);
    begun[0]!.res.end("/first");
    await expect.poll(() => begun.length).toBe(2);
    let length = 0;
    begun[1]!.req.on("data", (chunk: Buffer) => (length += chunk.length));
    begun[1]!.req.on("end", () => begun[1]!.res.end(`/${length}`));
    await expect.poll(() => bodies(client.received())).toEqual(["/first", `/${body.length}`]);
  });

  it("releases every request pipelined on a connection when the client goes away", async () => {
    const { server, port, begun, working } = await startServer();
    const client = await openRawClient(port, cleanup);
    client.socket.write(paths(5).map(get).join(""));
    await expect.poll(() => begun.length).toBe(1);
    begun[0]!.res.end("/1");
    // The second has the connection now; three more wait behind it, their responses queued in Node.
    await expect.poll(() => begun.length).toBe(2);
    await expect.poll(() => server.activeRequests).toBe(4);
    client.socket.destroy();
    await expect.poll(() => server.activeRequests).toBe(0);
    expect(working()).toBe(0); // the one being worked on heard its client go
    expect(begun.length).toBe(2); // and no work began for a client that is gone
  });

  it(`refuses a connection that pipelines more than ${MAX_PIPELINED_REQUESTS} requests`, async () => {
    const { server, port, metrics, begun } = await startServer();
    const client = await openRawClient(port, cleanup);
    client.socket.write(paths(MAX_PIPELINED_REQUESTS + 20).map(get).join(""));
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n[^]*\r\n\r\ntoo many pipelined requests: at most 16 may wait for their answers on one connection\n$/);
    expect(begun.length).toBe(1);
    await expect.poll(() => server.activeRequests).toBe(0);
    expect(await counted(metrics.connectionsRefused, { limit: "pipelined" })).toBe(1);
  });
});

describe("pipelined calls on a gateway whose client goes away", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world.close());

  const callsInFlight = async () => {
    const text = await (await fetch(`${world.gw.url}/metrics`)).text();
    return [...text.matchAll(/^switchboard_calls_in_flight\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
  };

  it("cancels the stream being answered (its vendor request closed, its ledger row written) and starts none of those behind it", async () => {
    const { secret } = await world.admin().createKey({ keyId: "pipeliner", key: { displayName: "pipeliner" } });
    const message = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "a long story" }] });
    const envelope = Buffer.alloc(5 + Buffer.byteLength(message));
    envelope.writeUInt32BE(Buffer.byteLength(message), 1);
    envelope.write(message, 5);
    const chatStream = Buffer.concat([
      Buffer.from(
        "POST /switchboard.v1.AIService/ChatStream HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/connect+json\r\n" +
          `authorization: Bearer ${secret}\r\ncontent-length: ${envelope.length}\r\n\r\n`,
      ),
      envelope,
    ]);
    world.fake.enqueue({ kind: "hang" }, { kind: "hang" });
    const asked = world.fake.requests.length;
    const abandoned = world.fake.abandoned.length;
    const client = await openRawClient(world.gw.port, cleanup);
    // The health check is answered at once; the first stream then has the connection, the second waits behind it.
    client.socket.write(Buffer.concat([Buffer.from(get("/healthz")), chatStream, chatStream]));
    await expect.poll(() => world.fake.requests.length).toBe(asked + 1);
    client.socket.destroy();

    await expect.poll(() => world.fake.abandoned.length).toBe(abandoned + 1);
    const report = async () => (await world.admin().getUsageReport({ key: "keys/pipeliner" })).total;
    await expect.poll(async () => Number((await report())?.requests ?? 0)).toBe(1);
    expect(Number((await report())!.errors)).toBe(1);
    await expect.poll(callsInFlight).toBe(0);
    // The stream that waited never began: nothing reached the vendor for it.
    expect(world.fake.requests.length).toBe(asked + 1);
  });
});
