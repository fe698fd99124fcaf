import { afterAll, beforeAll } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "./gateway.js";
import { GrpcConnection } from "./raw-rpc.js";

export interface RawRpcWorld {
  readonly fake: OpenAIFake;
  readonly gw: TestGateway;
  /** One HTTP/2 connection for gRPC calls written by hand. */
  readonly grpc: GrpcConnection;
}

/**
 * A gateway over one OpenAI fake, started before a file's tests and stopped
 * after them, for the tests that send requests byte by byte.
 */
export function rawRpcWorld(): RawRpcWorld {
  const world = {} as { -readonly [K in keyof RawRpcWorld]: RawRpcWorld[K] };
  beforeAll(async () => {
    world.fake = await startOpenAIFake({ apiKey: "sk-up" });
    world.gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: world.fake.baseUrl });
    world.grpc = new GrpcConnection(world.gw.url);
  });
  afterAll(async () => {
    world.grpc?.close();
    await world.gw?.stop();
    await world.fake?.close();
  });
  return world;
}
