import { afterAll, beforeAll } from "vitest";
import type { OpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverOpenAIFake } from "./fake-vendor-gateway.js";
import type { TestGateway } from "./gateway.js";
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
  const world = gatewayOverOpenAIFake() as { -readonly [K in keyof RawRpcWorld]: RawRpcWorld[K] };
  beforeAll(() => {
    world.grpc = new GrpcConnection(world.gw.url);
  });
  // After-hooks run last first: the connection closes before the gateway stops.
  afterAll(() => world.grpc?.close());
  return world;
}
