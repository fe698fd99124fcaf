// The one-port server's guards against connections that take without giving:
// a silent socket is closed, and one HTTP/2 connection cannot open streams without bound.
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { OnePortServer } from "../../src/server/one-port-server.js";

let server: OnePortServer;
let port: number;

beforeAll(async () => {
  server = new OnePortServer({
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("silent"),
    firstBytesTimeoutMs: 200,
    handler: (_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("ok"),
  });
  port = (await server.listen()).port;
});
afterAll(() => server.shutdown(1_000));

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()));

describe("the one-port server", () => {
  it("closes a connection that never says anything", async () => {
    const socket = await connect();
    const started = Date.now();
    await closed(socket);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("keeps a connection that spoke, however quiet it is afterwards", async () => {
    const socket = await connect();
    let answers = "";
    socket.on("data", (chunk: Buffer) => (answers += chunk.toString()));
    const ask = () => socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    ask(); // at once: a stalled event loop could otherwise fire the first-bytes timer first
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the first-bytes timeout
    ask();
    await expect.poll(() => answers.match(/HTTP\/1\.1 200/g)?.length ?? 0).toBe(2);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it("lets one HTTP/2 connection open at most 100 streams at once", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.once("error", reject);
    });
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    session.close();
  });
});
