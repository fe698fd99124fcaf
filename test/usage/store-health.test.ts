import { createClient } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { createPostgresDatabase, POSTGRES_PEPPER } from "../support/stores.js";

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

/** Sets the database read-only (or back) and cuts its connections, so the gateway reconnects under the new rule. */
async function setReadOnly(databaseUrl: string, readOnly: boolean): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: requireService("SWITCHBOARD_TEST_DATABASE_URL") });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${name} ${readOnly ? "SET default_transaction_read_only = on" : "RESET default_transaction_read_only"}`);
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
  } finally {
    await admin.end();
  }
}

async function healthz(gw: TestGateway): Promise<{ status: string; dependencies: Record<string, string> }> {
  return (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
}

describe("health, when the store stops taking writes", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  let database: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    database = await createPostgresDatabase();
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, DATABASE_URL: database.url, SWITCHBOARD_PEPPER: POSTGRES_PEPPER }, { ledger: { flush_interval_ms: 50 } });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    await database?.drop();
  });

  it("says degraded, naming the store, and NOT_SERVING for `store`; calls go on; all is well again once writes work", async () => {
    const health = createClient(Health, gw.transport("grpc", null));
    expect(await healthz(gw)).toMatchObject({ status: "ok", dependencies: { store: "ok" } });
    expect((await health.check({ service: "store" })).status).toBe(Status.SERVING);

    await setReadOnly(database.url, true);
    // A call is answered; its row cannot be written.
    const during = await gw.client("connect").chat(hi);
    await expect
      .poll(() => healthz(gw))
      .toMatchObject({
        status: "degraded",
        // The cause in a word or two: the database's own message (its names, its host) stays in the log line.
        dependencies: { store: "postgres cannot be written (read-only); calls go on, their usage rows wait in the journal" },
      });
    expect((await health.check({ service: "store" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    // Degraded, not failed: the gateway still takes traffic.
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    await setReadOnly(database.url, false);
    await expect.poll(() => healthz(gw), { timeout: 10_000 }).toMatchObject({ status: "ok", dependencies: { store: "ok" } });
    expect((await health.check({ service: "store" })).status).toBe(Status.SERVING);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT COUNT(*)::int AS n FROM usage_ledger WHERE request_id = $1", [during.requestId]);
      expect(rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });
});
