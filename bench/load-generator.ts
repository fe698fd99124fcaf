// The bench's load generator: a process of its own, pinned to another core
// than the server it measures (an in-process generator caps the proxy it
// measures). It takes jobs over IPC and answers with what it saw.
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Pool } from "undici";
import { AIService, ChatRequestSchema, ChatStreamRequestSchema } from "../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../gen/ts/switchboard/v1/chat_pb.js";

/**
 * How a job reaches the server: the OpenAI REST shape (Chat Completions),
 * Anthropic's Messages or OpenAI's Responses API (the coding agents'
 * surfaces), Connect JSON or binary, or gRPC.
 */
export type Protocol = "rest" | "anthropic-messages" | "openai-responses" | "connect-json" | "connect-binary" | "grpc";

/** The REST protocols: each one's path, how it authenticates, and its request body. */
const REST: Record<"rest" | "anthropic-messages" | "openai-responses", { path: string; auth: (key: string) => Record<string, string>; body: (job: Job, stream: boolean) => object }> = {
  rest: { path: "/v1/chat/completions", auth: (key) => ({ authorization: `Bearer ${key}` }), body: (job, stream) => ({ model: job.model, messages: [{ role: "user", content: prompt(job) }], stream }) },
  "anthropic-messages": {
    path: "/v1/messages",
    auth: (key) => ({ "x-api-key": key, "anthropic-version": "2023-06-01" }),
    body: (job, stream) => ({ model: job.model, max_tokens: 1024, messages: [{ role: "user", content: prompt(job) }], stream }),
  },
  "openai-responses": { path: "/v1/responses", auth: (key) => ({ authorization: `Bearer ${key}` }), body: (job, stream) => ({ model: job.model, input: prompt(job), stream }) },
};

export interface Job {
  kind: "unary" | "stream";
  protocol: Protocol;
  origin: string;
  /** The gateway key; none for the bare proxies. */
  key?: string;
  /** Headers a REST call carries besides the protocol's own (a peer gateway's: see bench/peers.ts). */
  headers?: Record<string, string>;
  model: string;
  /** Characters of prompt: the "large body" rows send 60 KB. */
  promptChars: number;
  calls: number;
  concurrency: number;
}

export interface JobResult {
  elapsedMs: number;
  /** Per call at concurrency 1: the whole call (unary), or the first token and the whole stream. */
  latencies: number[];
  firstTokens: number[];
  errors: number;
  firstError?: string;
}

type Call = () => Promise<{ firstTokenMs?: number }>;

/** One POST, timed from the request to the answer's first bytes; fails unless the answer is a 200. */
async function post(pool: Pool, path: string, headers: Record<string, string>, body: string | Uint8Array): Promise<{ firstTokenMs?: number; answer: Buffer }> {
  const started = performance.now();
  const res = await pool.request({ method: "POST", path, headers, body });
  let firstTokenMs: number | undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    firstTokenMs ??= performance.now() - started;
    chunks.push(chunk);
  }
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  return { firstTokenMs, answer: Buffer.concat(chunks) };
}

function restCall(pool: Pool, job: Job, stream: boolean): Call {
  const rest = REST[job.protocol as keyof typeof REST];
  const headers: Record<string, string> = { "content-type": "application/json", ...(job.key ? rest.auth(job.key) : {}), ...job.headers };
  const body = JSON.stringify(rest.body(job, stream));
  return async () => ({ firstTokenMs: (await post(pool, rest.path, headers, body)).firstTokenMs });
}

/**
 * Connect over HTTP/1.1 as bytes, in JSON or binary, unary or server
 * streaming: measured as the REST rows are, from the request to the first and
 * the last bytes of the answer, with no client library's decoding in the
 * figures (a stream's end is still checked for an error).
 */
function connectCall(pool: Pool, job: Job): Call {
  const stream = job.kind === "stream";
  const binary = job.protocol === "connect-binary";
  const schema = stream ? ChatStreamRequestSchema : ChatRequestSchema;
  const request = create(schema, { model: job.model, messages: [{ role: Role.USER, content: prompt(job) }] });
  const message = binary ? toBinary(schema, request) : Buffer.from(toJsonString(schema, request));
  const headers: Record<string, string> = { "content-type": `application/${stream ? "connect+" : ""}${binary ? "proto" : "json"}`, "connect-protocol-version": "1" };
  if (job.key) headers.authorization = `Bearer ${job.key}`;
  const path = `/switchboard.v1.AIService/${stream ? "ChatStream" : "Chat"}`;
  const body = stream ? envelope(message) : message;
  return async () => {
    const { firstTokenMs, answer } = await post(pool, path, headers, body);
    if (!stream) return {};
    const error = endOfStreamError(answer);
    if (error) throw new Error(error);
    return { firstTokenMs };
  };
}

/** One Connect envelope: flags 0, the length, the message. */
function envelope(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** The error a Connect stream ended with (its end-of-stream envelope's), or why the stream is not one. */
function endOfStreamError(bytes: Buffer): string | undefined {
  for (let at = 0; at + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at + 1);
    if (bytes[at]! & 0b10) {
      const end = JSON.parse(bytes.subarray(at + 5, at + 5 + length).toString("utf8")) as { error?: { code?: string; message?: string } };
      return end.error ? `${end.error.code}: ${end.error.message}` : undefined;
    }
    at += 5 + length;
  }
  return "the stream has no end-of-stream message";
}

function grpcCall(client: Client<typeof AIService>, job: Job): Call {
  const fields = { model: job.model, messages: [{ role: Role.USER, content: prompt(job) }] };
  if (job.kind === "unary") {
    const request = create(ChatRequestSchema, fields);
    return async () => {
      await client.chat(request);
      return {};
    };
  }
  const request = create(ChatStreamRequestSchema, fields);
  return async () => {
    const started = performance.now();
    let firstTokenMs: number | undefined;
    for await (const _ of client.chatStream(request)) firstTokenMs ??= performance.now() - started;
    return { firstTokenMs };
  };
}

/** gRPC needs HTTP/2 (and its trailers): connect-node's client, as the bare gRPC pass-through's row uses too. */
function grpcTransport(job: Job): Transport {
  const interceptors = job.key ? [(next: any) => (req: any) => (req.header.set("authorization", `Bearer ${job.key}`), next(req))] : [];
  return createGrpcTransport({ baseUrl: job.origin, interceptors });
}

function prompt(job: Job): string {
  return job.promptChars <= 10 ? "Say hello." : "word ".repeat(Math.ceil(job.promptChars / 5)).slice(0, job.promptChars);
}

async function run(job: Job): Promise<JobResult> {
  const pool = new Pool(job.origin, { connections: job.concurrency });
  const call: Call =
    job.protocol in REST
      ? restCall(pool, job, job.kind === "stream")
      : job.protocol === "grpc"
        ? grpcCall(createClient(AIService, grpcTransport(job)), job)
        : connectCall(pool, job);
  const result: JobResult = { elapsedMs: 0, latencies: [], firstTokens: [], errors: 0 };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.calls) {
        next++;
        const callStarted = performance.now();
        try {
          const { firstTokenMs } = await call();
          if (job.concurrency === 1) {
            result.latencies.push(performance.now() - callStarted);
            if (firstTokenMs !== undefined) result.firstTokens.push(firstTokenMs);
          }
        } catch (err) {
          result.errors++;
          result.firstError ??= (err as Error).message;
        }
      }
    }),
  );
  result.elapsedMs = performance.now() - started;
  await pool.close();
  return result;
}

process.on("message", (job: Job) => {
  run(job).then(
    (result) => process.send!(result),
    (err: Error) => process.send!({ elapsedMs: 0, latencies: [], firstTokens: [], errors: job.calls, firstError: err.message }),
  );
});
process.send!({ ready: true });
