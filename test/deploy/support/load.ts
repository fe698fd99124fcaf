import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import { AIService } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";

/**
 * How a load client calls the gateway through the balancer:
 * - connect-h1: Connect unary Chat over HTTP/1.1;
 * - rest-h1: the OpenAI REST surface over HTTP/1.1;
 * - connect-h2c-stream: Connect server streaming (ChatStream) over HTTP/2 cleartext;
 * - grpc: gRPC unary Chat (h2c; nginx's grpc_pass);
 * - grpc-stream: gRPC ChatStream.
 */
export type Protocol = "connect-h1" | "rest-h1" | "connect-h2c-stream" | "grpc" | "grpc-stream";

/** One call: `outcome` is "ok" when the whole answer arrived and carried the call's own request id, else what failed. */
export interface CallRecord {
  id: string;
  protocol: Protocol;
  startedAt: number;
  endedAt: number;
  outcome: string;
}

export interface LoadOptions {
  /** The balancer's HTTP/1.1 and h2c addresses. */
  httpUrl: string;
  h2cUrl: string;
  key: string;
  /** One client per entry, each calling in a loop until stopped. */
  clients: Protocol[];
  /** Request ids start with this (they are looked up in the ledger). */
  tag: string;
  /** A client's pause between two calls: keeps the load steady and bounded. */
  pauseMs: number;
  model?: string;
  maxTokens?: number;
}

export interface Load {
  readonly records: CallRecord[];
  /** Stops the clients after their current call; resolves when all have stopped. */
  stop(): Promise<CallRecord[]>;
}

/** The outcome of a failed call: the Connect code and ErrorInfo reason (or the REST status and code). */
export function outcomeOf(err: unknown): string {
  const error = ConnectError.from(err);
  return `${Code[error.code]}:${error.findDetails(ErrorInfoSchema)[0]?.reason ?? error.message.slice(0, 80)}`;
}

export function startLoad(options: LoadOptions): Load {
  const records: CallRecord[] = [];
  let stopped = false;
  let sequence = 0;
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${options.key}`);
    return next(req);
  };
  const h1 = createClient(AIService, createConnectTransport({ baseUrl: options.httpUrl, httpVersion: "1.1", interceptors: [auth] }));
  const h2c = createClient(AIService, createConnectTransport({ baseUrl: options.h2cUrl, httpVersion: "2", interceptors: [auth] }));
  const grpc = createClient(AIService, createGrpcTransport({ baseUrl: options.h2cUrl, interceptors: [auth] }));
  const model = options.model ?? "gpt-4o-mini";
  const request = (id: string) => ({ model, messages: [{ role: Role.USER, content: `call ${id}` }], maxTokens: options.maxTokens });

  const stream = async (client: typeof h2c, id: string): Promise<string | undefined> => {
    let servedId: string | undefined;
    for await (const event of client.chatStream(request(id), { headers: { "x-request-id": id }, timeoutMs: 30_000 })) {
      if (event.event.case === "summary") servedId = event.event.value.requestId;
    }
    return servedId;
  };
  const call: Record<Protocol, (id: string) => Promise<string | undefined>> = {
    "connect-h1": async (id) => (await h1.chat(request(id), { headers: { "x-request-id": id }, timeoutMs: 30_000 })).requestId,
    grpc: async (id) => (await grpc.chat(request(id), { headers: { "x-request-id": id }, timeoutMs: 30_000 })).requestId,
    "connect-h2c-stream": (id) => stream(h2c, id),
    "grpc-stream": (id) => stream(grpc, id),
    "rest-h1": async (id) => {
      const res = await fetch(`${options.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${options.key}`, "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({ model, messages: [{ role: "user", content: `call ${id}` }], max_tokens: options.maxTokens }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { error?: { code?: string } };
      if (res.status !== 200) throw new Error(`HTTP ${res.status}:${body.error?.code ?? ""}`);
      return res.headers.get("x-request-id") ?? undefined;
    },
  };

  const client = async (protocol: Protocol): Promise<void> => {
    while (!stopped) {
      const id = `${options.tag}-${protocol}-${sequence++}`;
      const startedAt = performance.now();
      let outcome: string;
      try {
        const servedId = await call[protocol](id);
        outcome = servedId === id ? "ok" : `answer without its request id (${servedId})`;
      } catch (err) {
        outcome = err instanceof Error && err.message.startsWith("HTTP ") ? err.message : outcomeOf(err);
      }
      records.push({ id, protocol, startedAt, endedAt: performance.now(), outcome });
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const running = Promise.all(options.clients.map(client));
  return {
    records,
    async stop() {
      stopped = true;
      await running;
      return records;
    },
  };
}

/** Counts of outcomes, for the test's figures. */
export function tally(records: CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.outcome] = (counts[record.outcome] ?? 0) + 1;
  return counts;
}
