// Every authenticated call takes one request from its key's requests per
// minute before its request is read (api/envelope/key-gate.ts), refused later
// or not: a 400, a 404 or a scope refusal is taken from too. Before, only
// admission took the request, after the body had been read, parsed and
// validated, so a key limited to 3 a minute sent 115 invalid 7.5 MB bodies in
// 20 s and slowed every other key's calls (/tmp/audit-hostile2.md, finding 2).
import * as http from "node:http";
import { Code } from "@connectrpc/connect";
import { endStreamFromJson } from "@connectrpc/connect/protocol-connect";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import type { Protocol } from "../support/gateway.js";
import { connectUnary, frame, frames, GrpcConnection, grpcWeb } from "../support/raw-rpc.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const CHAT = "/switchboard.v1.AIService/Chat";
const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
const restHi = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
/** Bytes no protobuf decoder takes: read and decoded, the call would be InvalidArgument. */
const UNDECODABLE = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

let world: UsageWorld;
beforeAll(async () => {
  world = await startUsageWorld("sqlite");
});
afterAll(() => world?.close());

const keyWith = async (requestsPerMinute: number, allowedModels: string[] = []) =>
  (await world.admin().createKey({ key: { displayName: "charged", requestsPerMinute, allowedModels } })).secret;

const post = (path: string, key: string, body: string) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });

const rateLimited = async () =>
  (await world.gw.app.metrics.registry.getSingleMetric("switchboard_rate_limited_total")!.get()).values.find((v) => v.labels.limit === "requests")?.value ?? 0;

describe("a refused call takes a request from its key's rate", () => {
  it("on REST: a 400, a 404 and a scope refusal each take one, and the key is then refused before its body is parsed", async () => {
    const key = await keyWith(3, ["gpt-4o-mini"]);
    expect((await post("/v1/chat/completions", key, JSON.stringify({ model: "gpt-4o-mini", temperature: 99, messages: [{ role: "user", content: "hi" }] }))).status).toBe(400);
    expect((await post("/v1/chat/completions", key, JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }))).status).toBe(404);
    expect((await post("/v1/chat/completions", key, JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }))).status).toBe(403);
    const before = world.fake.requests.length;
    for (const body of ["{not json", restHi]) {
      const res = await post("/v1/chat/completions", key, body);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ error: { code: "rate_limited" } });
    }
    expect(world.fake.requests.length).toBe(before);
  });

  it.each<Protocol>(["connect", "grpc", "grpc-web"])("on the typed API over %s: invalid requests take one each, and the key is then refused RATE_LIMITED with RetryInfo", async (protocol) => {
    const key = await keyWith(2);
    const client = world.gw.client(protocol, key);
    expect((await failure(client.chat({ ...hi, temperature: 5 }))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.chat({ ...hi, model: "no-such-model" }))).code).toBe(Code.NotFound);
    const before = await rateLimited();
    const err = await failure(client.chat({ ...hi, temperature: 5 }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", metadata: { limit: "requests_per_minute", value: "2" } });
    expect(Number(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBeGreaterThan(0);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(0);
    expect(await rateLimited()).toBe(before + 1);
  });

  it("is refused on Connect, gRPC and gRPC-Web before its request is decoded: RATE_LIMITED, not the body's InvalidArgument", async () => {
    const key = await keyWith(1);
    const headers = (type: string) => ({ "content-type": type, authorization: `Bearer ${key}` });
    // Within the rate, the undecodable body is decoded, and refused for what it is.
    const first = await connectUnary(world.gw.url, CHAT, UNDECODABLE, headers("application/proto"));
    expect([first.code, first.reason]).toEqual([Code.InvalidArgument, "INVALID_ARGUMENT"]);
    const connect = await connectUnary(world.gw.url, CHAT, UNDECODABLE, headers("application/proto"));
    expect([connect.status, connect.code, connect.reason]).toEqual([429, Code.ResourceExhausted, "RATE_LIMITED"]);
    const grpc = new GrpcConnection(world.gw.url);
    try {
      const answer = await grpc.call(CHAT, frame(UNDECODABLE), headers("application/grpc"));
      expect([answer.code, answer.reason]).toEqual([Code.ResourceExhausted, "RATE_LIMITED"]);
    } finally {
      grpc.close();
    }
    const web = await grpcWeb(world.gw.url, CHAT, frame(UNDECODABLE), headers("application/grpc-web+proto"));
    expect([web.code, web.reason]).toEqual([Code.ResourceExhausted, "RATE_LIMITED"]);
  });

  it("carries retry-after and x-request-id once, where connect-es puts an interceptor's error's: gRPC-Web's trailer, Connect's end of stream, gRPC's trailers", async () => {
    const key = await keyWith(1);
    expect((await world.gw.client("connect", key).chat(hi)).model).toBe("gpt-4o-mini");
    const send = (path: string, type: string, body: Uint8Array | string) =>
      fetch(world.gw.url + path, { method: "POST", headers: { "content-type": type, authorization: `Bearer ${key}` }, body });
    // The trailer frame of a gRPC-Web answer, or the metadata of a Connect stream's end, and the answer's headers.
    const grpcWebParts = async (type: string, body: Uint8Array | string, text: boolean) => {
      const res = await send(CHAT, type, body);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const trailer = frames(text ? Buffer.from(new TextDecoder().decode(bytes), "base64") : bytes).find((f) => f.flags & 0x80)!;
      return { headers: res.headers, metadata: trailerParse(trailer.data) };
    };
    const binary = await grpcWebParts("application/grpc-web+proto", frame(UNDECODABLE), false);
    const text = await grpcWebParts("application/grpc-web-text+proto", Buffer.from(frame(UNDECODABLE)).toString("base64"), true);
    const stream = await send("/switchboard.v1.AIService/ChatStream", "application/connect+proto", frame(UNDECODABLE));
    const end = frames(new Uint8Array(await stream.arrayBuffer())).find((f) => f.flags & 0b10)!;
    const connectStream = { headers: stream.headers, metadata: endStreamFromJson(end.data).metadata };
    for (const { headers, metadata } of [binary, text, connectStream]) {
      expect(metadata.get("retry-after")).toMatch(/^\d+$/);
      expect(metadata.get("x-request-id")).toMatch(/^\S+$/);
      // connect-es's clients add the headers to this metadata: neither may be there too.
      expect([headers.get("retry-after"), headers.get("x-request-id")]).toEqual([null, null]);
    }
    // gRPC, trailers-only, and the clients' own reading of each protocol: each once.
    const drained = async () => {
      for await (const _ of world.gw.client("connect", key).chatStream(hi));
    };
    const reads = [await failure(world.gw.client("grpc", key).chat(hi)), await failure(world.gw.client("grpc-web", key).chat(hi)), await failure(drained())];
    for (const err of reads) {
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.metadata.get("retry-after")).toMatch(/^\d+$/);
      expect(err.metadata.get("x-request-id")).toMatch(/^\S+$/);
    }
  });

  it("is refused on Connect before its body is even read: the answer comes while the body is still on its way", async () => {
    const key = await keyWith(1);
    expect((await world.gw.client("connect", key).chat(hi)).model).toBe("gpt-4o-mini");
    const answer = await new Promise<{ status: number; requestId: string | undefined; body: string }>((resolve, reject) => {
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": String(8 * 2 ** 20) };
      const req = http.request(new URL(CHAT, world.gw.url), { method: "POST", headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, requestId: res.headers["x-request-id"] as string | undefined, body });
          req.destroy();
        });
      });
      req.on("error", reject);
      // A first kilobyte of the 8 MiB announced, and no more.
      req.write(`{"model":"gpt-4o-mini","messages":[${'{"role":"ROLE_USER","content":"a"},'.repeat(30)}`);
    });
    expect(answer.status).toBe(429);
    expect(answer.requestId).toBeTruthy();
    expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted" });
  });
});

describe("a valid call", () => {
  it("is taken from its key's rate once, whichever surface and path serve it", async () => {
    const key = await keyWith(4);
    // gRPC: the lean path; gRPC-Web: connect-es; REST; and a listing, which takes one as every call does.
    expect((await world.gw.client("grpc", key).chat(hi)).model).toBe("gpt-4o-mini");
    expect((await world.gw.client("grpc-web", key).chat(hi)).model).toBe("gpt-4o-mini");
    expect((await post("/v1/chat/completions", key, restHi)).status).toBe(200);
    expect((await world.gw.client("connect", key).listModels({})).models.length).toBeGreaterThan(0);
    expect((await failure(world.gw.client("connect", key).chat(hi))).code).toBe(Code.ResourceExhausted);
  });
});
