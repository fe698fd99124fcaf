// Request bodies held before anything has handled them: each may be 8 MiB, read whole
// before an interceptor checks the caller's key, so unauthenticated clients sending bodies
// without ever ending them could fill the gateway's memory. The bytes held before their
// requests are complete are bounded per connection and in all; past either bound, the
// offending request is refused (HTTP/2: its stream reset; HTTP/1.1: 503 and close), and
// the others are served.
import { once } from "node:events";
import * as http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { openRawClient, useCleanup } from "../support/raw-clients.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const TOTAL = 4 * MiB;
const PER_CONNECTION = 2 * MiB;

const cleanup = useCleanup();

/** A server whose handler keeps the whole body (as connect-es does) and answers with its size once it has ended. */
async function startServer() {
  const server = new OnePortServer({
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("silent"),
    limits: { maxBufferedRequestBytes: TOTAL, maxBufferedRequestBytesPerConnection: PER_CONNECTION },
    handler: (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => res.end(String(Buffer.concat(chunks).length)));
      req.on("error", () => {});
    },
  });
  const { port } = await server.listen();
  cleanup.push(() => server.shutdown(0));
  return { server, port };
}

function connect(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanup.push(() => session.destroy());
  return session;
}

/** A POST that sends `bytes` of its body and does not end it. */
function unfinished(session: http2.ClientHttp2Session, bytes: number): http2.ClientHttp2Stream {
  const stream = session.request({ ":method": "POST", ":path": "/upload" });
  stream.on("error", () => {});
  stream.write(Buffer.alloc(bytes, "u"));
  return stream;
}

const closed = (stream: http2.ClientHttp2Stream) => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once("close", () => resolve())));

async function answer(stream: http2.ClientHttp2Stream): Promise<string> {
  let text = "";
  stream.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  await once(stream, "end");
  return text;
}

describe("request bodies held before they are complete", () => {
  it("HTTP/2: a connection past its share has the offending stream reset (ENHANCE_YOUR_CALM); its other streams are served", async () => {
    const { server, port } = await startServer();
    const session = connect(port);
    const first = unfinished(session, 900 * KiB);
    const second = unfinished(session, 900 * KiB);
    await expect.poll(() => server.bufferedRequestBytes).toBe(1800 * KiB);
    const third = unfinished(session, 900 * KiB);
    await closed(third);
    expect(third.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(server.bufferedRequestBytes).toBeLessThanOrEqual(PER_CONNECTION);

    first.end();
    second.end();
    expect(await answer(first)).toBe(String(900 * KiB));
    expect(await answer(second)).toBe(String(900 * KiB));
    expect(server.bufferedRequestBytes).toBe(0);
    // The connection is served again once its bodies are complete.
    const fourth = unfinished(session, 900 * KiB);
    fourth.end();
    expect(await answer(fourth)).toBe(String(900 * KiB));
  });

  it("HTTP/2: the gateway past its bound refuses the offending stream (REFUSED_STREAM, safe to retry), and serves again once bodies complete", async () => {
    const { server, port } = await startServer();
    const holders = [connect(port), connect(port)].map((session) => unfinished(session, 1900 * KiB));
    await expect.poll(() => server.bufferedRequestBytes).toBe(3800 * KiB);
    const late = unfinished(connect(port), 400 * KiB);
    await closed(late);
    expect(late.rstCode).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    expect(server.bufferedRequestBytes).toBeLessThanOrEqual(TOTAL);

    for (const holder of holders) holder.end();
    await Promise.all(holders.map(answer));
    const retried = unfinished(connect(port), 400 * KiB);
    retried.end();
    expect(await answer(retried)).toBe(String(400 * KiB));
  });

  it("HTTP/1.1: the gateway past its bound answers 503 with retry-after and closes the connection", async () => {
    const { server, port } = await startServer();
    const holders = [connect(port), connect(port)].map((session) => unfinished(session, 1900 * KiB));
    await expect.poll(() => server.bufferedRequestBytes).toBe(3800 * KiB);
    const client = await openRawClient(port, cleanup);
    client.socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\ncontent-length: ${1 * MiB}\r\n\r\n`);
    client.socket.write(Buffer.alloc(MiB, "u"));
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(client.received()).toMatch(/\r\nretry-after: 1\r\n/);
    expect(client.received()).toMatch(/\r\nconnection: close\r\n/);
    expect(server.bufferedRequestBytes).toBe(3800 * KiB);

    for (const holder of holders) holder.close(http2.constants.NGHTTP2_CANCEL);
    await expect.poll(() => server.bufferedRequestBytes).toBe(0);
    const served = await openRawClient(port, cleanup);
    served.socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\ncontent-length: ${MiB}\r\n\r\n`);
    served.socket.write(Buffer.alloc(MiB, "u"));
    await expect.poll(() => served.received()).toMatch(new RegExp(`^HTTP/1\\.1 200 [^]*\\r\\n\\r\\n${MiB}$`));
  });
});
