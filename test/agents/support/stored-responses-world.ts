import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import OpenAI from "openai";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import type { GatewayKeySchema } from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { storeEnv } from "../../support/stores.js";
import { startThreeVendors, type ThreeVendors } from "./three-vendors.js";

export interface StoredResponsesWorld extends ThreeVendors {
  admin: Client<typeof AdminService>;
  /** A client on the gateway's own Postgres database: what it stores, read (or spoiled) directly. */
  db: pg.Client;
  /** A new key (with `settings`): its secret, and the official SDK with its default options (retries included) for it. */
  keyFor(keyId: string, settings?: MessageInitShape<typeof GatewayKeySchema>): Promise<{ secret: string; sdk: OpenAI }>;
  /** What a key keeps in the store: its responses and their bytes. */
  keptBy(keyId: string): Promise<{ responses: number; bytes: number }>;
}

/**
 * The three fake vendors and a gateway storing responses on a Postgres
 * database of its own (`env` added to the gateway's), started before a file's
 * tests and stopped, its database dropped, after them.
 */
export function storedResponsesWorld(env: Record<string, string> = {}): StoredResponsesWorld {
  let dropStore = async () => {};
  const world = {
    async keyFor(keyId: string, settings: MessageInitShape<typeof GatewayKeySchema> = {}) {
      const { secret } = await world.admin.createKey({ keyId, key: { displayName: keyId, ...settings } });
      return { secret, sdk: new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: secret }) };
    },
    async keptBy(keyId: string) {
      const { rows } = await world.db.query("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM stored_responses WHERE key_id = $1", [keyId]);
      return { responses: Number(rows[0].n), bytes: Number(rows[0].bytes) };
    },
  } as StoredResponsesWorld;
  beforeAll(async () => {
    const store = await storeEnv("postgres");
    dropStore = store.drop;
    Object.assign(world, await startThreeVendors({ env: { ...store.env, ...env } }));
    world.admin = createClient(AdminService, world.gw.transport("connect"));
    world.db = new pg.Client({ connectionString: store.env.DATABASE_URL });
    await world.db.connect();
  });
  afterAll(async () => {
    await world.db?.end();
    await world.stop?.();
    await dropStore();
  });
  return world;
}
