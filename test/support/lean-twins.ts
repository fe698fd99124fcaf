// Twin handlers for the lean path's differential tests: one serves Chat, Embed
// and ChatStream on the lean path (src/server/lean-rpc), the other through
// connect-es alone, with one service and the same interceptors, each on an
// HTTP/1.1 and an HTTP/2 server. A request sent to both must come back the same.
import { ConnectError, createMethodImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { createEarlyRefusals } from "../../src/api/envelope/early-refusals.js";
import { createErrorInfoInterceptor } from "../../src/api/envelope/error-info-interceptor.js";
import { createRequestInterceptor } from "../../src/api/envelope/request-interceptor.js";
import type { Logger } from "../../src/observability/logger.js";
import { HealthState } from "../../src/common/health-state.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createHttpHandler } from "../../src/server/http-handler.js";
import { encodeTextDelta, encodeTextDeltaJson } from "../../src/server/lean-rpc/text-delta-encoding.js";

export interface Twin {
  h1: string;
  h2: string;
  close(): void;
}

export interface TwinOptions {
  /** The service, given which path serves it ("lean", "connect-es", or "… router" for connect-es's own routes). */
  service: (tag: string) => ServiceImpl<typeof AIService>;
  /** After the ErrorInfo interceptor: one that marks answers, so that an answer losing its work differs. */
  interceptor: Interceptor;
  shutdownSignal?: AbortSignal;
  /** Where the envelope's call lines go: with it, the request interceptor runs (before `interceptor`), and calls refused before it are recorded too. */
  callLog?: Logger;
}

export async function startTwin(lean: boolean, { service, interceptor, shutdownSignal, callLog }: TwinOptions): Promise<Twin> {
  const tag = lean ? "lean" : "connect-es";
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const handler = createHttpHandler({
    shutdownSignal,
    routes: (router) => router.service(AIService, service(`${tag} router`)),
    leanMethods: lean
      ? [
          { spec: createMethodImplSpec(AIService.method.chat, service(tag).chat) },
          { spec: createMethodImplSpec(AIService.method.embed, service(tag).embed) },
          { spec: createMethodImplSpec(AIService.method.chatStream, service(tag).chatStream), encoders: { binary: encodeTextDelta, json: encodeTextDeltaJson } },
        ]
      : [],
    interceptors: callLog ? [createErrorInfoInterceptor(), createRequestInterceptor(callLog, metrics), interceptor] : [createErrorInfoInterceptor(), interceptor],
    earlyRefusals: callLog && createEarlyRefusals(callLog, metrics),
    corsOrigins: [],
    metrics,
    health: new HealthState([AIService.typeName]),
  });
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  await Promise.all([new Promise<void>((r) => h1.listen(0, "127.0.0.1", r)), new Promise<void>((r) => h2.listen(0, "127.0.0.1", r))]);
  const url = (server: { address(): unknown }) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    h1: url(h1),
    h2: url(h2),
    close: () => {
      h1.closeAllConnections();
      h1.close();
      h2.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
}

/** Everything an HTTP/1.1 client sees of an answer but the date. */
export function callH1(base: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const { date: _, ...rest } = res.headers;
        resolve({ status: res.statusCode!, headers: rest, body: Buffer.concat(chunks).toString("base64"), trailers: res.trailers });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Everything an HTTP/2 client sees of an answer but the date: headers, data and trailers. */
export function callH2(base: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
    let answer: Answer = { status: 0, headers: {}, body: "", trailers: {} };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      const { date: _, ...rest } = h;
      answer = { ...answer, status: Number(h[":status"]), headers: rest };
    });
    stream.on("trailers", (t) => (answer.trailers = { ...t }));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ ...answer, body: Buffer.concat(chunks).toString("base64") });
    });
    stream.end(body);
  });
}

/** Headers on every answer, and metadata on every error, from an interceptor: an answer that loses the interceptors' work differs. */
export const tagging: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    res.header.set("x-interceptor", req.method.name);
    res.trailer.set("x-interceptor-trailer", "t");
    return res;
  } catch (err) {
    const error = ConnectError.from(err);
    error.metadata.set("x-interceptor", `failed ${req.method.name}`);
    throw error;
  }
};

export interface SameAnswer {
  answer: Answer;
  /** The body as text, and the gRPC message if any. */
  text: string;
  /** Which path the lean twin took (the service's first record in `served`). */
  path: string | undefined;
}

export interface TwinPair {
  readonly lean: Twin;
  readonly plain: Twin;
  /** Sends the same request to both twins; expects the same answer (status, headers but the date, body, trailers). */
  same(protocol: "h1" | "h2", path: string, headers: Record<string, string>, body: Uint8Array, call?: typeof callH1): Promise<SameAnswer>;
}

/**
 * The lean twin and the connect-es twin over one service (with `tagging`),
 * started before a file's tests and closed after them. The service records
 * the path that served each call in `served`.
 */
export function twinPair(service: TwinOptions["service"], served: string[]): TwinPair {
  const pair = {
    async same(protocol, path, headers, body, call = protocol === "h1" ? callH1 : callH2) {
      served.length = 0;
      const fromLean = await call(pair.lean[protocol], path, headers, body);
      const tookPath = served[0];
      const fromConnect = await call(pair.plain[protocol], path, headers, body);
      expect(fromLean).toEqual(fromConnect);
      const message = fromLean.trailers["grpc-message"] ?? fromLean.headers["grpc-message"];
      const text = Buffer.from(fromLean.body, "base64").toString("latin1") + (typeof message === "string" ? decodeURIComponent(message) : "");
      return { answer: fromLean, text, path: tookPath };
    },
  } as { -readonly [K in keyof TwinPair]: TwinPair[K] };
  beforeAll(async () => {
    [pair.lean, pair.plain] = await Promise.all([startTwin(true, { service, interceptor: tagging }), startTwin(false, { service, interceptor: tagging })]);
  });
  afterAll(() => {
    pair.lean?.close();
    pair.plain?.close();
  });
  return pair;
}
