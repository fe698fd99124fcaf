import { createClient, type Client } from "@connectrpc/connect";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import type { ConfigFile } from "../../src/config/schema.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "./gateway.js";
import { requireService } from "./require-service.js";
import { createPostgresDatabase, redisPrefix, tempDir } from "./stores.js";

/** The stores and shared state a gateway can run on; each is tested the same way. */
export type Backend = "sqlite" | "postgres" | "postgres+redis";
export const BACKENDS: Backend[] = ["sqlite", "postgres", "postgres+redis"];

/**
 * Prices that make budget arithmetic easy to follow: one dollar per token for
 * gpt-4o and gpt-4.1, a tenth of a cent per token for gpt-4o-mini. The fake
 * vendor counts words, so "hi" costs 4 prompt tokens and "Echo: hi" 2
 * completion tokens: a gpt-4o call costs $6.
 */
export const TEST_PRICING: ConfigFile["pricing"] = {
  models: {
    "gpt-4o": { input: 1_000_000, output: 1_000_000 },
    "gpt-4.1": { input: 1_000_000, output: 1_000_000 },
    "gpt-4o-mini": { input: 1_000, output: 1_000 },
  },
};

export interface UsageWorld {
  fake: OpenAIFake;
  /** Environment for more gateways on the same store (and Redis). */
  env: Record<string, string>;
  file: ConfigFile;
  gw: TestGateway;
  admin(gateway?: TestGateway): Client<typeof AdminService>;
  start(extraEnv?: Record<string, string>): Promise<TestGateway>;
  close(): Promise<void>;
}

/** A fake vendor and a gateway on the given backend; more gateways can join the same store. `extraModels`: more models the fake serves. */
export async function startUsageWorld(backend: Backend, file: ConfigFile = {}, extraModels: string[] = []): Promise<UsageWorld> {
  const fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "text-embedding-3-small", ...extraModels] });
  const env: Record<string, string> = { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_DATA_DIR: tempDir() };
  let drop = async () => {};
  if (backend !== "sqlite") {
    const db = await createPostgresDatabase();
    env.DATABASE_URL = db.url;
    drop = db.drop;
  }
  if (backend === "postgres+redis") {
    env.REDIS_URL = requireService("SWITCHBOARD_TEST_REDIS_URL");
    env.REDIS_PREFIX = redisPrefix();
  }
  const config: ConfigFile = { pricing: TEST_PRICING, ledger: { flush_interval_ms: 50 }, ...file };
  const gateways: TestGateway[] = [];
  const start = async (extraEnv: Record<string, string> = {}) => {
    // Instances on Postgres have their own data directories; SQLite restarts reuse the one file.
    const dataDir = backend === "sqlite" ? env.SWITCHBOARD_DATA_DIR! : tempDir();
    const gateway = await startGateway({ ...env, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_PEPPER: "a-shared-pepper-for-every-instance", ...extraEnv }, config);
    gateways.push(gateway);
    return gateway;
  };
  const gw = await start();
  return {
    fake,
    env,
    file: config,
    gw,
    admin: (gateway = gw) => createClient(AdminService, gateway.transport("connect")),
    start,
    async close() {
      await Promise.all(gateways.map((gateway) => gateway.stop().catch(() => {})));
      await fake.close();
      await drop();
    },
  };
}
