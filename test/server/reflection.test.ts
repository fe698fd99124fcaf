import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection } from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionAlpha } from "../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({});
});
afterAll(() => gw.stop());

async function* requests(...messages: { case: "listServices" | "fileContainingSymbol" | "fileByFilename"; value: string }[]) {
  for (const messageRequest of messages) yield { host: "", messageRequest };
}

describe("gRPC server reflection", () => {
  it("lists the services without a key (v1)", async () => {
    const client = createClient(ServerReflection, gw.transport("grpc", null));
    const names: string[] = [];
    for await (const res of client.serverReflectionInfo(requests({ case: "listServices", value: "" }))) {
      if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain("switchboard.v1.AIService");
    expect(names).toContain("grpc.health.v1.Health");
  });

  it("describes a symbol with its imports, each file sent once per stream (v1alpha)", async () => {
    const client = createClient(ServerReflectionAlpha, gw.transport("grpc", null));
    const batches: string[][] = [];
    for await (const res of client.serverReflectionInfo(
      requests({ case: "fileContainingSymbol", value: "switchboard.v1.AIService" }, { case: "fileContainingSymbol", value: "switchboard.v1.ChatRequest" }),
    )) {
      if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`unexpected ${res.messageResponse.case}`);
      batches.push(res.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name));
    }
    expect(batches[0]).toEqual(expect.arrayContaining(["switchboard/v1/ai_service.proto", "switchboard/v1/chat.proto", "google/protobuf/struct.proto"]));
    expect(batches[1]).toEqual([]);
  });

  it("serves the error-detail types, so clients can print an error's ErrorInfo, RetryInfo and BadRequest", async () => {
    const client = createClient(ServerReflection, gw.transport("grpc", null));
    const files: string[][] = [];
    for await (const res of client.serverReflectionInfo(
      requests(
        { case: "fileContainingSymbol", value: "google.rpc.ErrorInfo" },
        { case: "fileContainingSymbol", value: "google.rpc.RetryInfo" },
        { case: "fileContainingSymbol", value: "google.rpc.BadRequest.FieldViolation" },
      ),
    )) {
      if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`unexpected ${res.messageResponse.case}`);
      files.push(res.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name));
    }
    expect(files[0]).toEqual(expect.arrayContaining(["google/rpc/error_details.proto", "google/protobuf/duration.proto"]));
    expect(files.slice(1)).toEqual([[], []]);
  });

  it("says NOT_FOUND for an unknown symbol", async () => {
    const client = createClient(ServerReflection, gw.transport("grpc", null));
    for await (const res of client.serverReflectionInfo(requests({ case: "fileContainingSymbol", value: "no.Such" }))) {
      expect(res.messageResponse.case).toBe("errorResponse");
      expect(res.messageResponse.value).toMatchObject({ errorCode: 5 });
    }
  });

  it.each([
    ["a symbol", { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "x".repeat(2048) } }],
    ["a file name", { host: "", messageRequest: { case: "fileByFilename" as const, value: "x".repeat(2048) } }],
    ["a host", { host: "h".repeat(2048), messageRequest: { case: "listServices" as const, value: "" } }],
  ])("refuses %s longer than any it serves, without a key, before repeating it", async (_, request) => {
    const client = createClient(ServerReflection, gw.transport("grpc", null));
    const answers: unknown[] = [];
    async function* one() {
      yield request;
    }
    const err = await (async () => {
      for await (const res of client.serverReflectionInfo(one())) answers.push(res);
    })().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("at most 1024 characters");
    expect(answers).toEqual([]);
  });
});
