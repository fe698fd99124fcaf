import * as http2 from "node:http2";
import { connect as connectSocket, type Socket } from "node:net";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { clientLimits } from "../../src/server/client-limits.js";
import { Http2Sessions, type Http2Refusal } from "../../src/server/http2-sessions.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { RESET_COOLDOWN_MS } from "../../src/server/reset-budget.js";
import { CLIENT_PREFACE, FrameType, h2Frame, KEYLESS_CHAT_HEADERS, onH2Frames } from "../support/h2-frames.js";

// Rapid reset spread over many connections (hostile audit 6, finding 3): each connection stayed
// under nghttp2's own guard (per connection, a burst of 1000), and the open-stream caps never saw
// streams reset as soon as opened, so one address started calls without bound and stalled every
// other caller. Sessions nghttp2 ended for a flood were destroyed silently (finding 4).

/** The test server's port, drawn by the system. */
let port: number;
const NGHTTP2_CANCEL = Buffer.from([0, 0, 0, http2.constants.NGHTTP2_CANCEL]);

let server: http2.Http2Server;
let sessions: Http2Sessions;
let now: number;
let refused: Http2Refusal[];
let warnings: Record<string, unknown>[];
let closedStreams: number;
const sockets: Socket[] = [];

beforeEach(async () => {
  now = 0;
  refused = [];
  warnings = [];
  closedStreams = 0;
  const logger = createLogger("warn", new Writable({ write: (chunk: Buffer, _encoding, done) => void (warnings.push(JSON.parse(chunk.toString())), done()) }));
  sessions = new Http2Sessions(clientLimits({ streamResetsPerClientPerSecond: 10, streamResetBurstPerClient: 20 }), () => {}, (limit) => refused.push(limit), { logger, now: () => now });
  // A call is answered at once on /ok, begins an endless stream on /stream, and is held (as while its key is checked) on any other path.
  server = http2.createServer((req, res) => {
    if (req.url === "/ok") res.end("ok");
    if (req.url === "/stream") res.writeHead(200).write("event");
  });
  server.on("session", (session: http2.ServerHttp2Session) => sessions.add(session.on("error", () => {})));
  server.on("stream", (stream: http2.ServerHttp2Stream) => stream.once("close", () => closedStreams++));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  sessions.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A raw h2c connection from `localAddress`: the GOAWAY error codes it receives, and a way to open and reset streams at once. */
function rawConnection(localAddress = "127.0.0.1", to = port): { socket: Socket; goaways: number[]; openAndReset(count: number): void } {
  const socket = connectSocket({ port: to, host: "127.0.0.1", localAddress });
  sockets.push(socket);
  socket.on("error", () => {});
  const goaways: number[] = [];
  // A GOAWAY's payload: the last stream id, then the error code.
  onH2Frames(socket, ({ type, payload }) => void (type === FrameType.GOAWAY && goaways.push(payload.readUInt32BE(4))));
  socket.write(CLIENT_PREFACE);
  let next = 1;
  const openAndReset = (count: number): void => {
    const frames = Array.from({ length: count }, () => (next += 2) - 2).flatMap((id) => [h2Frame(FrameType.HEADERS, 0x4, id, KEYLESS_CHAT_HEADERS), h2Frame(FrameType.RST_STREAM, 0, id, NGHTTP2_CANCEL)]);
    socket.write(Buffer.concat(frames));
  };
  return { socket, goaways, openAndReset };
}

/** A normal HTTP/2 call from `localAddress`: its status, or the error that ended it. */
async function normalCall(localAddress: string): Promise<number | string> {
  const client = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => connectSocket({ port, host: "127.0.0.1", localAddress }) });
  client.on("error", () => {});
  try {
    return await new Promise<number | string>((resolve) => {
      const call = client.request({ ":path": "/ok" });
      call.on("response", (headers) => resolve(headers[":status"] as number));
      call.on("error", (err: Error) => resolve(err.message));
      call.on("close", () => resolve("closed"));
      client.on("close", () => resolve("session closed"));
      call.resume();
    });
  } finally {
    client.destroy();
  }
}

describe("streams one client address resets before their answer", () => {
  it("are budgeted per address: past it the session gets ENHANCE_YOUR_CALM, the address cools down, other addresses are served", async () => {
    const flood = rawConnection();
    flood.openAndReset(20); // the burst
    await expect.poll(() => closedStreams).toBe(20);
    now += 1_000; // refills 10
    flood.openAndReset(10);
    await expect.poll(() => closedStreams).toBe(30);
    expect(refused).toEqual([]);
    expect(flood.goaways).toEqual([]);

    flood.openAndReset(1);
    await expect.poll(() => flood.goaways).toEqual([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
    expect(refused).toEqual(["resets"]);

    // Another address is served; the flooding one's new sessions are refused while it cools down.
    expect(await normalCall("127.0.0.2")).toBe(200);
    const again = rawConnection();
    await expect.poll(() => again.goaways).toEqual([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
    expect(refused).toEqual(["resets", "resets"]);
    // Logged once for the address within the interval, naming it.
    expect(warnings.filter((line) => line.client === "127.0.0.1")).toHaveLength(1);

    now += RESET_COOLDOWN_MS;
    expect(await normalCall("127.0.0.1")).toBe(200);
  });

  it("are not counted once their answer has begun (a client cancelling a stream it was reading)", async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("error", () => {});
    try {
      for (let i = 0; i < 30; i++) {
        await new Promise<void>((resolve) => {
          const call = client.request({ ":path": "/stream" });
          call.on("response", () => call.close(http2.constants.NGHTTP2_CANCEL));
          call.on("close", () => resolve());
          call.on("error", () => {});
        });
      }
      await expect.poll(() => closedStreams).toBe(30);
      expect(refused).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});

describe("a session nghttp2 ends for a flood or a protocol error", () => {
  it("is counted and logged, naming its address", async () => {
    const { socket } = rawConnection();
    socket.write(h2Frame(FrameType.DATA, 0, 0, Buffer.from("x"))); // DATA on stream 0: a connection error
    await expect.poll(() => refused, { timeout: 5_000 }).toEqual(["protocol"]);
    expect(warnings).toEqual([expect.objectContaining({ client: "127.0.0.1", occurrences: 1 })]);
  });
});

describe("on the gateway's port", () => {
  it("a flooding address's new connection, frames already sent with its preface, is ended and counted", async () => {
    const metrics = new GatewayMetrics();
    const gateway = new OnePortServer({
      host: "127.0.0.1",
      port: 0,
      handler: () => {},
      logger: createLogger("silent"),
      limits: { streamResetsPerClientPerSecond: 1, streamResetBurstPerClient: 5 },
      metrics,
    });
    const gatewayPort = (await gateway.listen()).port;
    try {
      const flood = rawConnection("127.0.0.1", gatewayPort);
      flood.openAndReset(10);
      await expect.poll(() => flood.goaways).toEqual([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
      // Its preface and streams arrive in one chunk, buffered before the session begins: it is ended all the same.
      const again = rawConnection("127.0.0.1", gatewayPort);
      again.openAndReset(3);
      await expect.poll(() => again.goaways).toEqual([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
      const refusals = (await metrics.connectionsRefused.get()).values.find((value) => value.labels.limit === "resets")?.value;
      expect(refusals).toBe(2);
    } finally {
      await gateway.shutdown(0);
    }
  });
});
