// gRPC server reflection (a bidirectional stream) called over HTTP/1.1, which
// cannot carry one, got connect-es's bare 505 with an empty body: a gRPC-Web or
// Connect client read "unknown: HTTP 505". It is answered in the caller's
// protocol, saying it needs HTTP/2, and the connection still closes (a client
// waiting for a full-duplex stream would hang on it); over HTTP/2 it is served.
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ServerReflection } from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { failure } from "../support/failure.js";
import { connectStream, connectUnary, frame, grpcWeb } from "../support/raw-rpc.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";

const world = rawRpcWorld();
const V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
const listServices = frame(new Uint8Array([0x3a, 0x00])); // ServerReflectionRequest{list_services: ""}

const needsHttp2 = (path: string) =>
  `server reflection needs HTTP/2 (grpcurl, grpcui): ${path.slice(1)} is a bidirectional stream, which HTTP/1.1 cannot carry`;

async function* oneRequest() {
  yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
}

describe("a bidirectional stream over HTTP/1.1", () => {
  it("gRPC-Web, a Connect stream and gRPC read UNIMPLEMENTED saying it needs HTTP/2, in their protocols", async () => {
    for (const path of [V1, V1ALPHA]) {
      const web = await grpcWeb(world.gw.url, path, listServices, { "content-type": "application/grpc-web+proto" });
      expect([web.status, web.code, web.reason, web.message]).toEqual([200, Code.Unimplemented, "HTTP2_REQUIRED", needsHttp2(path)]);
      const stream = await connectStream(world.gw.url, path, listServices, { "content-type": "application/connect+proto" });
      expect([stream.status, stream.code, stream.reason, stream.message]).toEqual([200, Code.Unimplemented, "HTTP2_REQUIRED", needsHttp2(path)]);
      // gRPC over HTTP/1.1 (no client sends it; a proxy might): a trailers-only status in the headers.
      const grpc = await grpcWeb(world.gw.url, path, listServices, { "content-type": "application/grpc" });
      expect([grpc.code, grpc.reason, grpc.message]).toEqual([Code.Unimplemented, "HTTP2_REQUIRED", needsHttp2(path)]);
    }
  });

  it("a Connect unary content type keeps the 505, with Connect's error JSON; the connection closes", async () => {
    const unary = await connectUnary(world.gw.url, V1, listServices, { "content-type": "application/proto" });
    expect([unary.status, unary.code, unary.reason, unary.message]).toEqual([505, Code.Unimplemented, "HTTP2_REQUIRED", needsHttp2(V1)]);
    const res = await fetch(world.gw.url + V1, { method: "POST", headers: { "content-type": "application/connect+proto" }, body: listServices });
    expect(res.headers.get("connection")).toBe("close");
    await res.arrayBuffer();
  });

  it("a Connect client over HTTP/1.1 reads the error; over HTTP/2 the stream is served", async () => {
    const http1 = createClient(ServerReflection, createConnectTransport({ baseUrl: world.gw.url, httpVersion: "1.1" }));
    const err = await failure(
      (async () => {
        for await (const _ of http1.serverReflectionInfo(oneRequest()));
      })(),
    );
    expect(err.code).toBe(Code.Unimplemented);
    expect(err.rawMessage).toBe(needsHttp2(V1));
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("HTTP2_REQUIRED");

    const http2 = createClient(ServerReflection, createConnectTransport({ baseUrl: world.gw.url, httpVersion: "2" }));
    const names: string[] = [];
    for await (const res of http2.serverReflectionInfo(oneRequest())) {
      if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain("switchboard.v1.AIService");
  });
});
