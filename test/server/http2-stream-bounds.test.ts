import * as http2 from "node:http2";
import { connect as connectSocket, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CLIENT_LIMITS } from "../../src/server/client-limits.js";
import { Http2Sessions } from "../../src/server/http2-sessions.js";
import { startGateway } from "../support/gateway.js";
import { CLIENT_PREFACE, FrameType, h2Frame, KEYLESS_CHAT_HEADERS, onH2Frames } from "../support/h2-frames.js";

// Without a key, a client could open a thousand HTTP/2 streams per connection, never end them,
// and have each held for request_timeout_ms after its 401: 5-14 KB apiece, a thousand
// connections per address (protocol audit M2). Answered streams now go a second after their
// answer, and the gateway holds a bounded number of open streams.

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

/** An h2c server whose sessions Http2Sessions keeps: "/hold" is never answered, anything else gets 401 at once. */
async function serve(maxOpenStreams: number) {
  let refused = 0;
  const sessions = new Http2Sessions({ ...DEFAULT_CLIENT_LIMITS, requestTimeoutMs: 600_000, maxOpenStreams }, () => {}, () => refused++);
  const server = http2.createServer((req, res) => {
    if (req.url !== "/hold") res.writeHead(401, { "content-type": "application/json" }).end('{"error":"a key is required"}');
  });
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on("error", () => {});
  cleanup.push(() => {
    client.destroy();
    sessions.destroy();
    server.close();
  });
  /** A request whose body never ends. */
  const open = (path: string) => {
    const stream = client.request({ ":method": "POST", ":path": path }, { endStream: false });
    stream.on("error", () => {});
    stream.resume();
    const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
    return { stream, closed };
  };
  return { open, refused: () => refused };
}

describe("HTTP/2 streams", () => {
  it("a connection holds at most 100 at once: the 101st is refused (REFUSED_STREAM), the others wait for their bodies", async () => {
    const gw = await startGateway({});
    cleanup.push(() => void gw.stop());
    // Frames written by hand, as an attacker would: Node's own client would queue the 101st.
    const socket = connectSocket(gw.port, "127.0.0.1");
    socket.on("error", () => {});
    cleanup.push(() => socket.destroy());
    const resets = new Map<number, number>();
    // A RST_STREAM's payload is its error code.
    onH2Frames(socket, ({ type, stream, payload }) => {
      if (type === FrameType.RST_STREAM) resets.set(stream, payload.readUInt32BE(0));
    });
    // HEADERS with END_HEADERS and no END_STREAM, without a key: RPCs whose bodies never come.
    const streams = Array.from({ length: 101 }, (_, i) => 2 * i + 1);
    socket.write(Buffer.concat([CLIENT_PREFACE, ...streams.map((id) => h2Frame(FrameType.HEADERS, 0x4, id, KEYLESS_CHAT_HEADERS))]));

    await expect.poll(() => resets.get(201)).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    expect([...resets.keys()]).toEqual([201]);
  });

  it("past the gateway's cap a new stream is refused (REFUSED_STREAM, counted), and taken again once one closes", async () => {
    const { open, refused } = await serve(3);
    const held = [open("/hold"), open("/hold"), open("/hold")];
    const over = open("/hold");
    expect(await over.closed).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    expect(refused()).toBe(1);

    held[0]!.stream.close(http2.constants.NGHTTP2_CANCEL);
    await held[0]!.closed;
    const again = open("/v1/models");
    const status = await new Promise((resolve) => again.stream.once("response", (headers) => resolve(headers[":status"])));
    expect(status).toBe(401);
    expect(refused()).toBe(1);
  });
});
