// The HTTP handler serves an RPC only once the key gate (server/rpc-key-gate.ts)
// admits it. A gate admitting the call and a `serve()` that then throws left a
// rejection nothing handled: the caller got no answer, and Node's default
// (--unhandled-rejections=throw) ended the process. It is answered 500, and logged.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { HealthState } from "../../src/common/health-state.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createHttpHandler } from "../../src/server/http-handler.js";
import type { RpcKeyGate } from "../../src/server/rpc-key-gate.js";
import { LogCapture } from "../support/gateway.js";

let server: Server | undefined;
afterEach(async () => {
  // A call left unanswered (as before) holds its connection open.
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe("an RPC whose serving throws after the key gate admitted it", () => {
  it("is answered 500 and logged, and leaves no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    const logs = new LogCapture();
    // Admits the call, then breaks what serving reads first: the request's headers.
    const keyGate: RpcKeyGate = async (req) => {
      Object.defineProperty(req, "headers", {
        get: () => {
          throw new Error("serving failed");
        },
      });
      return true;
    };
    const handler = createHttpHandler({
      routes: (router) => router.service(AIService, {}),
      interceptors: [],
      corsOrigins: [],
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      health: new HealthState([AIService.typeName]),
      logger: createLogger("info", logs),
      keyGate,
    });
    server = createServer(handler);
    // Port 0: a fixed port in the ephemeral range can be taken by any outgoing connection of the suite.
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/switchboard.v1.AIService/Chat`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status).toBe(500);
      // A rejection is reported after the microtasks of the turn that made it: one turn more.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(logs.entries).toContainEqual(expect.objectContaining({ level: "error", path: "/switchboard.v1.AIService/Chat", error: "serving failed" }));
    } finally {
      process.off("unhandledRejection", note);
    }
  });
});
