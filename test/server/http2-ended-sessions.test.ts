import * as http2 from "node:http2";
import { connect as connectSocket, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endedByNghttp2 } from "../../src/server/ended-by-nghttp2.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { CLIENT_PREFACE, FrameType, h2Frame, KEYLESS_CHAT_HEADERS, onH2Frames } from "../support/h2-frames.js";

// nghttp2 ends a session for a flood (rapid reset) or a connection error with a GOAWAY, then
// reads it no more. Node 20 and 22 said nothing of it: the connection stayed open, unread, until
// the idle timeout (65 s) when no stream was open, and for good when one was (its answer and its
// reset never leave), holding a connection, its streams and their calls (transport audit 6).
// Such a session is destroyed. (Node 24 destroys it itself.)

let gw: TestGateway;
beforeAll(async () => {
  // A reset budget past the flood below, so that nghttp2's own guard ends the session, not the gateway's (http2-reset-budget.test.ts).
  gw = await startGateway({}, { server: { stream_reset_burst_per_client: 10_000 } });
});
afterAll(async () => {
  await gw?.stop();
});

/** A raw h2c connection: the GOAWAY error codes it receives, and whether the gateway has closed it. */
function rawConnection(): { socket: Socket; goaways: number[]; closed: () => boolean } {
  const socket = connectSocket(gw.port, "127.0.0.1");
  socket.on("error", () => {});
  const goaways: number[] = [];
  let closed = false;
  // A GOAWAY's payload: the last stream id, then the error code.
  onH2Frames(socket, ({ type, payload }) => {
    if (type === FrameType.GOAWAY) goaways.push(payload.readUInt32BE(4));
  });
  socket.on("close", () => (closed = true));
  return { socket, goaways, closed: () => closed };
}

describe("an HTTP/2 session nghttp2 has ended", () => {
  it("for rapid reset (streams opened and reset at once, past what nghttp2 allows): its connection is closed", async () => {
    const { socket, goaways, closed } = rawConnection();
    const pairs = Array.from({ length: 1_500 }, (_, i) => 2 * i + 1).flatMap((id) => [h2Frame(FrameType.HEADERS, 0x4, id, KEYLESS_CHAT_HEADERS), h2Frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8]))]);
    socket.write(Buffer.concat([CLIENT_PREFACE, ...pairs]));
    await expect.poll(() => goaways.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(closed, { timeout: 10_000 }).toBe(true);
  });

  it("for a connection error with a stream open (DATA on stream 0): its connection is closed, the stream's call with it", async () => {
    const { socket, goaways, closed } = rawConnection();
    // A stream opens (its call is answered 401 and waits for its body), then the connection error.
    socket.write(Buffer.concat([CLIENT_PREFACE, h2Frame(FrameType.HEADERS, 0x4, 1, KEYLESS_CHAT_HEADERS), h2Frame(FrameType.DATA, 0, 0, Buffer.from("x"))]));
    await expect.poll(() => goaways, { timeout: 10_000 }).toContain(1); // PROTOCOL_ERROR
    await expect.poll(closed, { timeout: 10_000 }).toBe(true);
  });

  it("is told from a healthy one, which is left alone", async () => {
    const server = http2.createServer();
    const sessions: http2.ServerHttp2Session[] = [];
    server.on("session", (session) => sessions.push(session.on("error", () => {})));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const socket = connectSocket((server.address() as AddressInfo).port, "127.0.0.1");
    socket.on("error", () => {});
    try {
      socket.write(CLIENT_PREFACE);
      await expect.poll(() => sessions.length).toBe(1);
      const session = sessions[0]!;
      expect(endedByNghttp2(session)).toBe(false);
      socket.write(h2Frame(FrameType.DATA, 0, 0, Buffer.from("x")));
      // Node 20 and 22 hold it open, ended; Node 24 destroys it itself.
      await expect.poll(() => endedByNghttp2(session) || session.destroyed).toBe(true);
    } finally {
      socket.destroy();
      server.close();
    }
  });
});
