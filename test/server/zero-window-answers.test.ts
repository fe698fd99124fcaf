// An HTTP/2 client that keeps its flow-control window shut (SETTINGS_INITIAL_WINDOW_SIZE 0)
// and asks for something small (GET /healthz, a 401): the answer is written and ended, but
// its bytes wait in the gateway for a window that never opens, so the stream never closes
// and no timeout applies. Fifty such sessions held for ever, then a thousand, fill the
// connection caps. Such an answer is reset once its client has taken none of it for
// server.answer_stall_timeout_ms, and its session closes; a client reading slowly but
// steadily is not cut. The test drives the stall sweep with a clock of its own.
import * as http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { OnePortServer } from "../../src/server/one-port-server.js";
import { counted, useCleanup } from "../support/raw-clients.js";

const STALL_MS = 300;
// Large enough that even Node 24's larger windows (about 200 KiB a step, some runs 350 KiB) take four steps and more.
const BIG = 2 * 1024 * 1024;

const cleanup = useCleanup();

/** A one-port server whose stall sweep runs when the test says, on the test's clock; every other timeout is far away. */
async function startServer() {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const clock = { at: 0, now: () => clock.at, manual: true };
  const ended: http2.Http2ServerResponse[] = [];
  const server = new OnePortServer({
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("silent"),
    metrics,
    stallClock: clock,
    limits: { answerStallTimeoutMs: STALL_MS },
    handler: (req, res) => {
      const answer = req.url === "/big" ? Buffer.alloc(BIG, "b") : req.url === "/secret" ? '{"code":"unauthenticated"}' : '{"status":"ok"}';
      res.writeHead(req.url === "/secret" ? 401 : 200, { "content-type": "application/json" }).end(answer);
      ended.push(res as http2.Http2ServerResponse);
    },
  });
  const { port } = await server.listen();
  cleanup.push(() => server.shutdown(0));
  return { server, port, metrics, clock, ended };
}

function connect(port: number, settings?: http2.Settings): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings });
  session.on("error", () => {});
  cleanup.push(() => session.destroy());
  return session;
}

const closed = (emitter: http2.ClientHttp2Session | http2.ClientHttp2Stream) =>
  new Promise<void>((resolve) => (emitter.closed ? resolve() : emitter.once("close", () => resolve())));

/** A few turns of the event loop, for the gateway's side of the loopback to take what was just sent. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe("HTTP/2 answers a client keeps its window shut on", () => {
  it("are reset once the stall timeout passes with none of them taken, and their sessions close", async () => {
    const { server, port, metrics, clock, ended } = await startServer();
    const sessions: http2.ClientHttp2Session[] = [];
    const streams: http2.ClientHttp2Stream[] = [];
    for (let i = 0; i < 50; i++) {
      const session = connect(port, { initialWindowSize: 0 });
      const stream = session.request({ ":path": i % 2 ? "/secret" : "/healthz" });
      stream.on("error", () => {});
      sessions.push(session);
      streams.push(stream);
    }
    await Promise.all(streams.map((stream) => new Promise((resolve) => stream.once("response", resolve))));
    await expect.poll(() => ended.length).toBe(50);
    // Answered and ended, but not one byte of a body has gone out: the streams stay open.
    expect(ended.every((res) => res.stream.writableEnded && !res.stream.closed)).toBe(true);

    server.sweepAnswerStalls();
    clock.at += STALL_MS - 1;
    server.sweepAnswerStalls();
    await settle();
    expect(streams.filter((stream) => stream.closed)).toHaveLength(0);

    clock.at += 1;
    server.sweepAnswerStalls();
    await Promise.all([...streams.map(closed), ...sessions.map(closed)]);
    expect(streams.map((stream) => stream.rstCode)).toEqual(streams.map(() => http2.constants.NGHTTP2_CANCEL));
    expect(await counted(metrics.slowClients, { waiting_for: "answer" })).toBe(50);
    expect(server.activeRequests).toBe(0);
  });

  it("leave a session with a shut window but nothing waiting alone", async () => {
    const { server, port, clock } = await startServer();
    const session = connect(port, { initialWindowSize: 0 });
    // A HEAD-like answer with no body: nothing is held back by the window.
    const stream = session.request({ ":path": "/healthz", ":method": "HEAD" });
    stream.on("error", () => {});
    await closed(stream);
    server.sweepAnswerStalls();
    clock.at += 10 * STALL_MS;
    server.sweepAnswerStalls();
    await settle();
    expect(session.closed).toBe(false);
  });
});

describe("a client with a normal window reading a large answer slowly but steadily", () => {
  it("is never cut, though each step between sweeps is most of a stall timeout", async () => {
    const { server, port, clock, metrics } = await startServer();
    const session = connect(port);
    const stream = session.request({ ":path": "/big" });
    stream.on("error", () => {});
    let received = 0;
    stream.on("data", (chunk: Buffer) => (received += chunk.length));
    stream.pause();
    await new Promise((resolve) => stream.once("response", resolve));
    const ended = new Promise<void>((resolve) => stream.once("end", () => resolve()));
    server.sweepAnswerStalls();
    let steps = 0;
    while (received < BIG) {
      // Read 32 KiB more (about half the window, so the client grants more), then stop again.
      const target = Math.min(BIG, received + 32 * 1024);
      stream.resume();
      await expect.poll(() => received >= target, { interval: 1 }).toBe(true);
      stream.pause();
      await settle();
      // Most of a stall timeout a step: a sweep that comes before the server has written on (a busy machine)
      // sees the progress at the next one, still within the timeout.
      clock.at += Math.floor(STALL_MS * 0.6);
      server.sweepAnswerStalls();
      steps++;
    }
    stream.resume();
    await ended;
    // Several sweeps (more than two whole stall timeouts) passed while it read; how much each step takes depends on
    // the windows Node gives a client (Node 24's take about 200 KiB a step, Node 20's 32 KiB).
    expect(steps).toBeGreaterThanOrEqual(4);
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(received).toBe(BIG);
    expect(await counted(metrics.slowClients, { waiting_for: "answer" })).toBe(0);
  });
});
