// A request whose headers are past the limit is refused in the shape of the
// API it was for (issue 14): the OpenAI and Anthropic REST surfaces' error
// bodies with a 431, Connect's error JSON, and a grpc-status for gRPC and
// gRPC-Web callers, each naming the limit (REQUEST_HEADERS_TOO_LARGE). Node
// answered a bare 431 on HTTP/1.1; on HTTP/2 the gateway set no limit of
// its own (a list past what Node takes ended the whole session).
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { overflowAnswer, requestHeadOf } from "../../src/server/header-overflow.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-vendor" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-vendor", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

/** Past the HTTP/1.1 limit (16 KiB), and past the HTTP/2 one (64 KiB) but within twice it. */
const OVER_HTTP1 = "a".repeat(20_000);
const OVER_HTTP2 = "a".repeat(70_000);

/** Sends a raw HTTP/1.1 request in the given writes (a pause between them), and reads the whole answer. */
function rawHttp1(writes: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1", async () => {
      for (const [i, chunk] of writes.entries()) {
        // Let each write arrive as its own read, as a slow link delivers a request's start before its headers.
        if (i > 0) await new Promise((next) => setTimeout(next, 50));
        socket.write(chunk);
      }
    });
    let answer = "";
    socket.on("data", (data) => (answer += data.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => {
      const [head, ...rest] = answer.split("\r\n\r\n");
      const [statusLine, ...lines] = head!.split("\r\n");
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
  });
}

const requestStart = (path: string, headers: Record<string, string> = {}) =>
  `POST ${path} HTTP/1.1\r\nhost: localhost\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}`;

describe("HTTP/1.1 headers past the limit", () => {
  it("on the OpenAI surface: 431 with OpenAI's error body", async () => {
    const res = await rawHttp1([`${requestStart("/v1/chat/completions", { authorization: `Bearer ${MASTER_KEY}`, cookie: OVER_HTTP1 })}\r\n`]);
    expect(res.status).toBe(431);
    expect(res.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(res.body);
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "request_headers_too_large" });
    expect(body.error.message).toMatch(/^the request's headers are larger than the 16384 bytes the gateway accepts/);
  });

  it("on the Anthropic surface: 431 with Anthropic's, even when the headers came in a later read than the request line", async () => {
    const res = await rawHttp1([requestStart("/v1/messages?beta=true", { "anthropic-version": "2023-06-01" }), `x-big: ${OVER_HTTP1}\r\n\r\n`]);
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toMatchObject({ type: "error", error: { type: "invalid_request_error", reason: "request_headers_too_large", message: expect.stringContaining("16384 bytes") } });
  });

  it("on a Connect method: Connect's error JSON, which a Connect client reads as ResourceExhausted", async () => {
    const res = await rawHttp1([`${requestStart("/switchboard.v1.AiService/Chat", { "content-type": "application/json", "x-big": OVER_HTTP1 })}\r\n`]);
    expect(res.status).toBe(431);
    const body = JSON.parse(res.body);
    expect(body.code).toBe("resource_exhausted");
    expect(body.message).toContain("16384 bytes");
    const connect = await failure(gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { "x-big": OVER_HTTP1 } }));
    expect(connect.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(connect)).toBe("REQUEST_HEADERS_TOO_LARGE");
  });

  it("with gRPC-Web: a trailer with grpc-status RESOURCE_EXHAUSTED", async () => {
    const err = await failure(gw.client("grpc-web").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }, { headers: { "x-big": OVER_HTTP1 } }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(err)).toBe("REQUEST_HEADERS_TOO_LARGE");
  });
});

describe("HTTP/2 headers past the limit", () => {
  const chat = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

  // Node's HTTP/2 client sends no header block over 64 KiB unless told it may (its maxSendHeaderBlockLength).
  const nodeOptions = { maxSendHeaderBlockLength: 1024 * 1024 };
  const auth = [(next: any) => (req: any) => (req.header.set("authorization", `Bearer ${MASTER_KEY}`), next(req))];
  const grpc = () => createClient(AIService, createGrpcTransport({ baseUrl: gw.url, nodeOptions, interceptors: auth }));
  const connectH2 = () => createClient(AIService, createConnectTransport({ baseUrl: gw.url, httpVersion: "2", nodeOptions, interceptors: auth }));

  it("a gRPC call gets grpc-status RESOURCE_EXHAUSTED with the reason, not a reset stream", async () => {
    const err = await failure(grpc().chat(chat, { headers: { "x-big": OVER_HTTP2 } }));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(err)).toBe("REQUEST_HEADERS_TOO_LARGE");
    expect(err.rawMessage).toContain("65535 bytes");
  });

  it("a Connect call over HTTP/2 gets ResourceExhausted; headers within the limit are served as before", async () => {
    expect(reasonOf(await failure(connectH2().chat(chat, { headers: { "x-big": OVER_HTTP2 } })))).toBe("REQUEST_HEADERS_TOO_LARGE");
    const served = await grpc().chat(chat, { headers: { "x-big": "a".repeat(40_000) } });
    expect(served.message?.content).toBeTruthy();
  });

  // Node's own bound (128 fields, whatever their size) reset such a stream with ENHANCE_YOUR_CALM.
  const fields = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, "v"]));

  it("more than 128 header fields within the size limit are served", async () => {
    const served = await grpc().chat(chat, { headers: fields(300) });
    expect(served.message?.content).toBeTruthy();
  });

  it("many small fields past the size limit (2,500: about 100 KB as HTTP/2 counts them) get RESOURCE_EXHAUSTED, not a reset stream", async () => {
    const err = await failure(grpc().chat(chat, { headers: fields(2_500) }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(err)).toBe("REQUEST_HEADERS_TOO_LARGE");
  });
});

// Past twice the limit (the SETTINGS_MAX_HEADER_LIST_SIZE advertised), Node resets the stream before any JavaScript
// sees it, and no answer can be written (issue 10): such streams are counted, logged once per session, and the
// session and every other connection are served on.
describe("HTTP/2 header lists past what the gateway advertises", () => {
  const PAST_ADVERTISED = { "x-a": "a".repeat(70_000), "x-b": "a".repeat(70_000) };

  /** A session whose client has acknowledged the gateway's settings (before that, Node applies no list limit of its own). */
  async function settledSession() {
    const session = http2.connect(gw.url, { maxSendHeaderBlockLength: 1024 * 1024 });
    session.on("error", () => {});
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    return session;
  }
  function call(session: http2.ClientHttp2Session, headers: Record<string, string> = {}): Promise<number | string> {
    return new Promise((resolve) => {
      const stream = session.request({ ":path": "/healthz", ...headers });
      stream.on("response", (h) => resolve(h[":status"] as number));
      stream.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      stream.on("close", () => resolve(`closed ${stream.rstCode}`));
      stream.resume();
    });
  }
  const refusedHeaders = async () => Number(/switchboard_connections_refused_total\{limit="headers"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);
  const warnings = () => gw.logs.entries.filter((line) => String(line.msg).startsWith("HTTP/2 streams reset by Node before the gateway saw them"));

  it("reset by Node (ENHANCE_YOUR_CALM), each counted under connections_refused{limit=headers}, logged once per session; the session serves on", async () => {
    gw.logs.lines.length = 0;
    const before = await refusedHeaders();
    const session = await settledSession();
    expect(await call(session, PAST_ADVERTISED)).toBe("ERR_HTTP2_STREAM_ERROR");
    expect(await call(session)).toBe(200);
    expect(await refusedHeaders()).toBe(before + 1);
    expect(await call(session, PAST_ADVERTISED)).toBe("ERR_HTTP2_STREAM_ERROR");
    await new Promise<void>((resolve) => session.close(resolve));
    await expect.poll(refusedHeaders).toBe(before + 2);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: "warn", client: "127.0.0.1", limit_bytes: 131_070 });
  });

  it("one field past what HPACK takes ends its session (COMPRESSION_ERROR); other connections are served", async () => {
    const session = await settledSession();
    const goaway = new Promise((resolve) => session.once("goaway", resolve));
    await call(session, { "x-big": "a".repeat(200_000) });
    expect(await goaway).toBe(http2.constants.NGHTTP2_COMPRESSION_ERROR);
    const other = await settledSession();
    expect(await call(other)).toBe(200);
    other.close();
  });
});

describe("what is known of a refused request", () => {
  it("the request line only when the bytes begin with one; otherwise a plain-text 431", () => {
    expect(requestHeadOf(Buffer.from("GET /v1/models?x=1 HTTP/1.1\r\nAnthropic-Version: 1\r\ncut"), 16_384)).toMatchObject({ path: "/v1/models" });
    expect(requestHeadOf(Buffer.from("GET /v1/models HTTP/1.1\r\nAnthropic-Version: 1\r\ncut"), 16_384)!.header("anthropic-version")).toBe("1");
    expect(requestHeadOf(Buffer.from("x-big: aaaa\r\n"), 16_384)).toBeUndefined();
    const unknown = overflowAnswer(undefined, 16_384);
    expect([unknown.status, unknown.headers["content-type"]]).toEqual([431, "text/plain; charset=utf-8"]);
  });

  it("gRPC-Web's text mode gets its trailer frame in base64", () => {
    const text = overflowAnswer({ path: "/switchboard.v1.AIService/Chat", header: (name) => (name === "content-type" ? "application/grpc-web-text+proto" : undefined) }, 16_384);
    expect([text.status, text.headers["content-type"]]).toEqual([200, "application/grpc-web-text+proto"]);
    const frame = Buffer.from(new TextDecoder().decode(text.body), "base64");
    expect(frame[0]).toBe(0x80);
    expect(frame.subarray(5).toString()).toContain("grpc-status: 8");
  });
});
