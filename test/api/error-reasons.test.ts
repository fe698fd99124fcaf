import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type Protocol, type TestGateway } from "../support/gateway.js";

// Every error carries google.rpc.ErrorInfo with a stable reason (docs/errors.md).
const chat = (model = "gpt-4o-mini", temperature?: number) => ({ model, temperature, messages: [{ role: Role.USER, content: "hi" }] });

let fake: OpenAIFake;
let gw: TestGateway;
const admin = () => createClient(AdminService, gw.transport("connect"));

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

function errorInfo(err: ConnectError) {
  const [info, ...more] = err.findDetails(ErrorInfoSchema);
  expect(more).toEqual([]);
  return { code: err.code, reason: info?.reason, metadata: info?.metadata };
}

async function streamed(client: ReturnType<TestGateway["client"]>, request: ReturnType<typeof chat>): Promise<void> {
  for await (const _ of client.chatStream(request));
}

describe.each<Protocol>(["grpc", "connect"])("error reasons over %s", (protocol) => {
  it("UNAUTHENTICATED alike for a missing and an unknown key: nothing says whether a key exists", async () => {
    const missing = await failure(gw.client(protocol, null).chat(chat()));
    const unknown = await failure(gw.client(protocol, "sk-sb-not-a-real-key").chat(chat()));
    expect(errorInfo(missing)).toEqual({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED", metadata: {} });
    expect(errorInfo(unknown)).toEqual(errorInfo(missing));
    expect(unknown.rawMessage).toBe(missing.rawMessage);
  });

  it("MODEL_NOT_FOUND for a model no route serves, unary and streamed", async () => {
    const unary = await failure(gw.client(protocol).chat(chat("no-such-model")));
    expect(errorInfo(unary)).toEqual({ code: Code.NotFound, reason: "MODEL_NOT_FOUND", metadata: { model: "no-such-model" } });
    const stream = await failure(streamed(gw.client(protocol), chat("no-such-model")));
    expect(errorInfo(stream).reason).toBe("MODEL_NOT_FOUND");
  });

  it("INVALID_ARGUMENT with a BadRequest naming the field, unary and streamed", async () => {
    for (const err of [await failure(gw.client(protocol).chat(chat("gpt-4o-mini", 5))), await failure(streamed(gw.client(protocol), chat("gpt-4o-mini", 5)))]) {
      expect(errorInfo(err)).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["temperature"]);
    }
  });
});

describe("error reasons for stored keys", () => {
  it("KEY_REVOKED to the holder of a revoked key", async () => {
    const { secret, key } = await admin().createKey({ keyId: "soon-revoked", key: { displayName: "soon revoked" } });
    await admin().revokeKey({ name: key!.name });
    const err = await failure(gw.client("grpc", secret).chat(chat()));
    expect(errorInfo(err)).toEqual({ code: Code.Unauthenticated, reason: "KEY_REVOKED", metadata: { key: "soon-revoked" } });
    expect(err.rawMessage).toMatch(/^this gateway key \("keys\/soon-revoked"\) was revoked at \S+; ask for a new one$/);
  });

  it("KEY_EXPIRED to the holder of an expired key", async () => {
    const { secret } = await admin().createKey({ keyId: "short-lived", key: { displayName: "short lived", expiration: { case: "ttl", value: durationFromMs(500) } } });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const err = await failure(gw.client("connect", secret).chat(chat()));
    expect(errorInfo(err)).toEqual({ code: Code.Unauthenticated, reason: "KEY_EXPIRED", metadata: { key: "short-lived" } });
  });

  it("ADMIN_SCOPE_REQUIRED when a key without the admin scope calls the AdminService", async () => {
    const { secret } = await admin().createKey({ keyId: "no-admin", key: { displayName: "no admin" } });
    const err = await failure(createClient(AdminService, gw.transport("grpc", secret)).listKeys({}));
    expect(errorInfo(err)).toEqual({ code: Code.PermissionDenied, reason: "ADMIN_SCOPE_REQUIRED", metadata: { key: "no-admin", service: "switchboard.v1.AdminService" } });
  });

  it("the code's name as the reason for an error raised without one (an admin lookup)", async () => {
    const err = await failure(admin().getKey({ name: "keys/nobody" }));
    expect(errorInfo(err)).toEqual({ code: Code.NotFound, reason: "NOT_FOUND", metadata: {} });
  });
});
