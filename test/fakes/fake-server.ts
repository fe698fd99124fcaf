import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a fake vendor received: enough for tests to assert on the wire request. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A scripted answer that overrides the fake's normal behaviour for the next request. */
export type Scripted =
  | { kind: "error"; status: number; body: unknown; headers?: Record<string, string> }
  /** Accept the request and never answer (until the client goes away). */
  | { kind: "hang" }
  /** Destroy the connection without an answer. */
  | { kind: "reset" };

export interface FakeServer {
  /** Origin, e.g. "http://127.0.0.1:12345". */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Requests whose client went away before the fake finished answering. */
  readonly abandoned: RecordedRequest[];
  /** Scripts the answers to the next requests, in order. */
  enqueue(...answers: Scripted[]): void;
  close(): Promise<void>;
}

export type FakeHandler = (req: RecordedRequest, res: ServerResponse, raw: IncomingMessage) => Promise<void> | void;

/**
 * A real HTTP server on loopback for a fake vendor: records requests, plays
 * scripted failures, and reports requests the client abandoned mid-answer
 * (which is how tests see that cancellation reached the vendor).
 */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const abandoned: RecordedRequest[] = [];
  const script: Scripted[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer(async (raw, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = text;
    if (text && (raw.headers["content-type"] ?? "").includes("json")) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const recorded: RecordedRequest = { method: raw.method ?? "", path: raw.url ?? "", headers: raw.headers, body };
    requests.push(recorded);
    res.once("close", () => {
      if (!res.writableFinished) abandoned.push(recorded);
    });
    const scripted = script.shift();
    if (scripted?.kind === "reset") return raw.socket.destroy();
    if (scripted?.kind === "hang") return;
    if (scripted?.kind === "error") {
      res.writeHead(scripted.status, { "content-type": "application/json", ...scripted.headers });
      res.end(typeof scripted.body === "string" ? scripted.body : JSON.stringify(scripted.body));
      return;
    }
    try {
      await handler(recorded, res, raw);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `fake failed: ${(err as Error).message}` } }));
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    abandoned,
    enqueue: (...answers) => script.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits text into small pieces, as vendors stream it. */
export function pieces(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}
