// Requests the RPC routes cannot serve as sent (an unknown method, a content
// type no protocol takes, a wrong HTTP method) got connect-es's bare 404, 415
// or 405: no grpc-status, no body, no ErrorInfo (issue 10). They are answered
// in the protocol the request's content type names, saying what is right:
// gRPC trailers-only (grpc-status 12 for an unknown method, as gRPC's spec
// asks), gRPC-Web's trailer frame, Connect's error JSON or end-of-stream
// frame. And REST-looking paths just outside /v1/ (`//v1/…`, `/V1/…`, `/v1`)
// got an empty 404: they get OpenAI's (or Anthropic's) error body naming the
// path probably meant; an absolute-form request line is served (RFC 9112 §3.2.2).
import * as net from "node:net";
import { connect as connectH2, constants } from "node:http2";
import Anthropic from "@anthropic-ai/sdk";
import { Code } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { connectStream, connectUnary, frame, frames, grpcWeb } from "../support/raw-rpc.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";
import { MASTER_KEY } from "../support/gateway.js";
import { requestHeadOf } from "../../src/server/header-overflow.js";
import { absoluteTarget } from "../../src/server/request-target.js";
import { meantRestPath } from "../../src/server/rest-near-miss.js";

const world = rawRpcWorld();

const auth = { authorization: `Bearer ${MASTER_KEY}` };
const CHAT = "/switchboard.v1.AIService/Chat";
const empty = frame(new Uint8Array(0));

interface H2Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown> | undefined;
  body: Buffer;
}

/** One raw HTTP/2 request, keeping the response headers and trailers apart (a trailers-only answer has no trailers). */
function h2(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<H2Answer> {
  const session = connectH2(world.gw.url);
  return new Promise<H2Answer>((resolve, reject) => {
    const stream = session.request({ [constants.HTTP2_HEADER_METHOD]: method, [constants.HTTP2_HEADER_PATH]: path, ...headers });
    let answer: H2Answer = { headers: {}, trailers: undefined, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (answer = { ...answer, headers: h }));
    stream.on("trailers", (t) => (answer = { ...answer, trailers: t }));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => resolve({ ...answer, body: Buffer.concat(chunks) }));
    stream.end(body);
  }).finally(() => session.close());
}

/** The ErrorInfo metadata of a gRPC answer's grpc-status-details-bin, read as text (enough to find the names in it). */
const detailsText = (value: unknown) => Buffer.from(String(value), "base64").toString("latin1");

describe("an unknown RPC method", () => {
  it("gRPC: a trailers-only 200 with grpc-status UNIMPLEMENTED, ErrorInfo, and the service's methods", async () => {
    const answer = await h2("POST", "/switchboard.v1.AIService/Nope", { "content-type": "application/grpc", te: "trailers", ...auth }, empty);
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.headers["grpc-status"]).toBe(String(Code.Unimplemented));
    expect(answer.trailers).toBeUndefined();
    expect(answer.body.byteLength).toBe(0);
    const message = decodeURIComponent(String(answer.headers["grpc-message"]));
    expect(message).toBe('switchboard.v1.AIService has no method "Nope"; its methods: Chat, ChatStream, Embed, ListModels');
    expect(detailsText(answer.headers["grpc-status-details-bin"])).toContain("METHOD_NOT_FOUND");

    const raw = await world.grpc.call("/switchboard.v1.AIService/Nope", empty, { "content-type": "application/grpc", ...auth });
    expect([raw.code, raw.reason]).toEqual([Code.Unimplemented, "METHOD_NOT_FOUND"]);
  });

  it("a method named in the wrong case, or a service the gateway does not have, is told the right name or the services", async () => {
    const lower = await world.grpc.call("/switchboard.v1.AIService/chat", empty, { "content-type": "application/grpc" });
    expect(lower.code).toBe(Code.Unimplemented);
    expect(lower.message).toContain("(did you mean Chat?)");
    const service = await world.grpc.call("/switchboard.v1.AiService/Chat", empty, { "content-type": "application/grpc" });
    expect([service.code, service.reason]).toEqual([Code.Unimplemented, "METHOD_NOT_FOUND"]);
    expect(service.message).toMatch(/^the gateway has no service "switchboard\.v1\.AiService" \(did you mean switchboard\.v1\.AIService\?\); it serves: .*switchboard\.v1\.AdminService/);
    // A gRPC call to a path that is no method path at all still gets a grpc-status.
    const root = await world.grpc.call("/", empty, { "content-type": "application/grpc" });
    expect([root.status, root.code, root.reason]).toEqual([200, Code.Unimplemented, "METHOD_NOT_FOUND"]);
  });

  it("gRPC-Web: a trailer frame; Connect: error JSON (404) or an end-of-stream frame", async () => {
    const web = await grpcWeb(world.gw.url, "/grpc.health.v1.Health/Nope", empty, { "content-type": "application/grpc-web+proto" });
    expect([web.status, web.code, web.reason]).toEqual([200, Code.Unimplemented, "METHOD_NOT_FOUND"]);
    expect(web.message).toContain("its methods: Check, Watch, List");
    const unary = await connectUnary(world.gw.url, "/switchboard.v1.AIService/Nope", "{}", { "content-type": "application/json" });
    expect([unary.status, unary.code, unary.reason]).toEqual([404, Code.Unimplemented, "METHOD_NOT_FOUND"]);
    const stream = await connectStream(world.gw.url, "/switchboard.v1.AIService/NopeStream", frame(new TextEncoder().encode("{}")), { "content-type": "application/connect+json" });
    expect([stream.status, stream.code, stream.reason]).toEqual([200, Code.Unimplemented, "METHOD_NOT_FOUND"]);
  });

  it("a key pasted into the path is not repeated whole", async () => {
    const keyed = await connectUnary(world.gw.url, "/switchboard.v1.AIService/sk-sb-0123456789abcdef0123456789abcdef", "{}", { "content-type": "application/json" });
    expect(keyed.code).toBe(Code.Unimplemented);
    expect(keyed.body).toContain("sk-sb-…");
    expect(keyed.body).not.toContain("0123456789abcdef0123456789abcdef");
  });

  it("a long service's methods are listed up to a bound", async () => {
    const answer = await connectUnary(world.gw.url, "/switchboard.v1.AdminService/Nope", "{}", { "content-type": "application/json" });
    expect(answer.code).toBe(Code.Unimplemented);
    expect(answer.message.length).toBeLessThan(600);
    expect(answer.message).toMatch(/its methods: \w+(, \w+)*( and \d+ more)?$/);
  });
});

describe("a content type no protocol of the method takes", () => {
  it("gRPC with an unknown codec (application/grpc+xml): trailers-only INVALID_ARGUMENT naming the types taken", async () => {
    const answer = await h2("POST", CHAT, { "content-type": "application/grpc+xml", te: "trailers", ...auth }, empty);
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.headers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(answer.trailers).toBeUndefined();
    const message = decodeURIComponent(String(answer.headers["grpc-message"]));
    expect(message).toContain('does not take content type "application/grpc+xml"');
    expect(message).toContain("application/grpc+proto");
    expect(detailsText(answer.headers["grpc-status-details-bin"])).toContain("UNSUPPORTED_CONTENT_TYPE");
  });

  it("gRPC-Web's text mode (application/grpc-web-text): the trailer frame in base64, as its clients read every answer", async () => {
    const res = await fetch(world.gw.url + CHAT, { method: "POST", headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1", ...auth }, body: "AAAAAAA=" });
    expect([res.status, res.headers.get("content-type")]).toEqual([200, "application/grpc-web-text"]);
    const text = await res.text();
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const [trailer, ...more] = frames(Buffer.from(text, "base64"));
    expect([trailer!.flags, more.length]).toEqual([0x80, 0]);
    const fields = new Headers(trailerParse(trailer!.data));
    expect(fields.get("grpc-status")).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(fields.get("grpc-message")!)).toContain('does not take content type "application/grpc-web-text"');
    expect(findTrailerError(fields)?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNSUPPORTED_CONTENT_TYPE");
  });

  it.each([["text/plain"], [undefined]])("content type %s: 415 with Connect's error JSON, ErrorInfo and accept-post", async (type) => {
    const res = await fetch(world.gw.url + CHAT, { method: "POST", headers: { ...auth, ...(type ? { "content-type": type } : {}) }, body: "hi" });
    expect(res.status).toBe(415);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("accept-post")).toContain("application/json");
    const body = (await res.json()) as { code: string; message: string; details: { type: string }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("send one of: application/proto, application/json");
    expect(body.details[0]!.type).toBe("google.rpc.ErrorInfo");
    const raw = await connectUnary(world.gw.url, CHAT, "hi", { ...auth, "content-type": "text/plain" });
    expect(raw.reason).toBe("UNSUPPORTED_CONTENT_TYPE");
  });
});

describe("an HTTP method the RPC does not take", () => {
  it("a GET on Chat, and a Connect GET on ListModels (which has no GET): 405 with allow and Connect's error JSON", async () => {
    for (const path of [CHAT, "/switchboard.v1.AIService/ListModels?connect=v1&encoding=json&message=%7B%7D"]) {
      const res = await fetch(world.gw.url + path, { headers: auth });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe("unimplemented");
      expect(body.message).toMatch(/^switchboard\.v1\.AIService\/(Chat|ListModels) takes POST, not GET/);
    }
  });

  it("a gRPC GET: a trailers-only UNIMPLEMENTED with METHOD_NOT_ALLOWED", async () => {
    const answer = await h2("GET", CHAT, { "content-type": "application/grpc", te: "trailers" });
    expect([answer.headers[":status"], answer.headers["grpc-status"], answer.headers.allow]).toEqual([200, String(Code.Unimplemented), "POST"]);
    expect(detailsText(answer.headers["grpc-status-details-bin"])).toContain("METHOD_NOT_ALLOWED");
  });

  it("what is served is served as before", async () => {
    for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
      const served = await world.gw.client(protocol).chat({ model: "gpt-4o-mini", messages: [{ role: 1, content: "hi" }] });
      expect(served.message?.content).toBeTruthy();
    }
  });
});

/** Sends a raw HTTP/1.1 request and reads the whole answer (the connection closes after it). */
function rawHttp1(request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(world.gw.port, "127.0.0.1", () => socket.write(request));
    let answer = "";
    socket.on("data", (data) => (answer += data.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => {
      const [head, ...rest] = answer.split("\r\n\r\n");
      resolve({ status: Number(head!.split(" ")[1]), body: rest.join("\r\n\r\n") });
    });
  });
}

describe("REST-looking paths outside /v1/", () => {
  const chat = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(world.gw.url + path, { method: "POST", headers: { ...auth, "content-type": "application/json", ...headers }, body: chat });

  it.each([
    ["//v1/chat/completions", "/v1/chat/completions"],
    ["/V1/CHAT/COMPLETIONS", "/v1/chat/completions"],
    ["/V1/chat/completions", "/v1/chat/completions"],
  ])("%s is not served: 404 in OpenAI's shape naming %s", async (path, meant) => {
    const before = world.fake.chatRequests().length;
    const res = await post(path);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string; type: string } };
    expect(body.error.code).toBe("endpoint_not_found");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain(`did you mean ${meant}?`);
    expect(world.fake.chatRequests()).toHaveLength(before);
  });

  it("/v1 without its slash, and an Anthropic client's //v1/messages, in their dialect", async () => {
    const root = await fetch(`${world.gw.url}/v1`, { headers: auth });
    expect(root.status).toBe(404);
    expect(((await root.json()) as any).error.message).toContain("the REST endpoints are under /v1/");
    const messages = await post("//v1/messages", { "anthropic-version": "2023-06-01" });
    expect(messages.status).toBe(404);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("did you mean /v1/messages?") } });
  });

  it("the SDKs' base-URL mistakes: OpenAI's without /v1, and Anthropic's with it (/v1/v1/messages), each told what to give", async () => {
    const openai = new OpenAI({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).then(
      () => expect.unreachable("answered"),
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    expect(err.status).toBe(404);
    expect(err.message).toContain("did you mean /v1/chat/completions?");
    expect(err.message).toContain("with /v1 as their base URL");
    const anthropic = new Anthropic({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    const doubled = await anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).then(
      () => expect.unreachable("answered"),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    expect(doubled.status).toBe(404);
    expect(doubled.message).toContain("did you mean /v1/messages?");
    expect(doubled.message).toContain("the gateway's address alone");
  });

  it("an absolute-form request line is served by its path (RFC 9112 §3.2.2)", async () => {
    const res = await rawHttp1(`GET http://127.0.0.1:${world.gw.port}/v1/models HTTP/1.1\r\nhost: elsewhere.example\r\nauthorization: Bearer ${MASTER_KEY}\r\nconnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.body).toContain("gpt-4o-mini");
    const rpc = await rawHttp1(`POST http://localhost${CHAT} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`);
    expect(rpc.status).toBe(401);
  });

  it("other paths stay a bare 404", async () => {
    const res = await fetch(`${world.gw.url}/wp-login.php`);
    expect([res.status, await res.text()]).toEqual([404, ""]);
  });
});

describe("what a near miss probably meant, and an absolute-form target's path", () => {
  it("collapses slashes and lowers the prefix's case; an id keeps its case when the prefix had it right", () => {
    expect(meantRestPath("//v1/models/GPT-4o", "/v1/")).toBe("/v1/models/GPT-4o");
    expect(meantRestPath("/V1/Models", "/v1/")).toBe("/v1/models");
    expect(meantRestPath("//V1", "/v1/")).toBe("/v1/");
    expect(meantRestPath("/v1/chat//completions", "/v1/")).toBeUndefined(); // inside the prefix: the REST envelope's
    expect(meantRestPath("/v1x/models", "/v1/")).toBeUndefined();
    expect(meantRestPath("/wp-login.php", "/v1/")).toBeUndefined();
    // A REST endpoint without the prefix (an OpenAI SDK's base URL without /v1): the prefix put back.
    expect(meantRestPath("/chat/completions", "/v1/")).toBe("/v1/chat/completions");
    expect(meantRestPath("/Responses/resp_AbC", "/v1/")).toBe("/v1/responses/resp_AbC");
    expect(meantRestPath("/console-ish", "/v1/")).toBeUndefined();
  });

  it("an absolute-form target: its path as sent and its authority without userinfo; any other form is not one", () => {
    expect(absoluteTarget("http://user:pw@127.0.0.1:8080//v1/models?x=1")).toEqual({ path: "//v1/models?x=1", authority: "127.0.0.1:8080" });
    expect(absoluteTarget("HTTPS://host?x")).toEqual({ path: "/?x", authority: "host" });
    expect(absoluteTarget("/v1/models")).toBeUndefined();
    expect(absoluteTarget("*")).toBeUndefined();
    // A header overflow's refusal is shaped by the same path.
    expect(requestHeadOf(Buffer.from("GET http://host/v1/models?x HTTP/1.1\r\ncut"), 16_384)).toMatchObject({ path: "/v1/models" });
  });
});
