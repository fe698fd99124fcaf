import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRestEnvelope, type RestSurface } from "../../src/api/envelope/rest-envelope.js";
import type { Principal } from "../../src/auth/principal.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";

/** A surface with one POST route that answers 200 once its body is read. */
const surface: RestSurface = {
  route: (method, path) => (method === "POST" && path === "/v1/chat/completions" ? { pattern: "/v1/chat/completions", handle: async ({ res }) => void res.end("{}") } : undefined),
  writeError: (res) => {
    if (!res.headersSent && !res.writableEnded) res.writeHead(499).end();
  },
};

describe("a REST call whose HTTP/2 stream is reset while its key is being checked", () => {
  let server: http2.Http2Server | undefined;
  let client: http2.ClientHttp2Session | undefined;
  afterEach(async () => {
    client?.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it("ends as cancelled: one log line, and no longer counted in flight", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("info", new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString())), done()) }));
    const metrics = new GatewayMetrics();
    // The key gate is held until the test lets it go, as a slow Redis-backed limiter would.
    let releaseGate!: () => void;
    const gateReached = new Promise<void>((reached) => {
      const gate = () => {
        reached();
        return new Promise<Principal>((resolve) => (releaseGate = () => resolve({ keyId: "key-1" } as Principal)));
      };
      server = http2.createServer(createRestEnvelope([surface], { gate, logger, metrics }));
    });
    const serverClosed = new Promise<void>((closed) => server!.on("stream", (stream: http2.ServerHttp2Stream) => stream.once("close", () => closed())));
    await new Promise<void>((listening) => server!.listen(0, "127.0.0.1", listening));
    client = http2.connect(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`);
    const call = client.request({ ":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json" });
    call.on("error", () => {});
    call.end('{"model":"m","messages":[]}');
    await gateReached;
    call.close(http2.constants.NGHTTP2_CANCEL);
    await serverClosed;
    releaseGate();

    const inFlight = async () => (await metrics.callsInFlight.get()).values.find((value) => value.labels.surface === "rest")?.value;
    await vi.waitFor(async () => expect(await inFlight()).toBe(0));
    const callLines = lines.filter((line) => line.method === "REST POST /v1/chat/completions");
    expect(callLines).toHaveLength(1);
    expect(callLines[0]).toMatchObject({ status: "canceled", keyId: "key-1" });
  });
});
