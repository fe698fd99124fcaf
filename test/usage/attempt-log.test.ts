// The ledger row of a call that needed a retry keeps every attempt, read back
// from the real Postgres store while the gateway runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { Scripted } from "../fakes/fake-server.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const overloaded: Scripted = { kind: "error", status: 503, body: { error: { message: "overloaded", type: "server_error" } } };

describe("the usage ledger's attempt log", () => {
  let world: UsageWorld;
  let db: PostgresDatabase;
  beforeAll(async () => {
    world = await startUsageWorld("postgres");
    db = new PostgresDatabase(world.env.DATABASE_URL!);
  });
  afterAll(async () => {
    await db.close();
    await world.close();
  });

  it("records each attempt in order, with its outcome, and the one that served", async () => {
    world.fake.enqueue(overloaded);
    const res = await world.gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    expect(res.attempts.map((a) => a.outcome)).toEqual(["overloaded", "ok"]);

    const ledger = new LedgerStore(db);
    await expect.poll(async () => (await ledger.byRequestIds([res.requestId])).length).toBe(1);
    const [row] = await ledger.byRequestIds([res.requestId]);
    expect(row!.attempts).toEqual([
      { provider: "openai", model: "gpt-4o-mini", outcome: "overloaded", ms: expect.any(Number), hedged: false },
      { provider: "openai", model: "gpt-4o-mini", outcome: "ok", ms: expect.any(Number), hedged: false },
    ]);
    expect(row).toMatchObject({ provider: "openai", servedModel: "gpt-4o-mini", status: "ok" });
    // The count column agrees, for SQL that only counts.
    const [counted] = await db.query("SELECT attempts FROM usage_ledger WHERE request_id = $1", [res.requestId]);
    expect(Number(counted!.attempts)).toBe(2);
    // The failover query of docs/keys-and-usage.md finds it.
    const failures = await db.query(
      `SELECT a->>'provider' AS provider, a->>'outcome' AS outcome, COUNT(*) AS calls
       FROM usage_ledger, jsonb_array_elements(attempt_log::jsonb) AS a
       WHERE a->>'outcome' <> 'ok' AND at_ms >= (EXTRACT(EPOCH FROM now() - interval '1 day') * 1000)::bigint
       GROUP BY 1, 2 ORDER BY 3 DESC`,
    );
    expect(failures.map((f) => ({ ...f, calls: Number(f.calls) }))).toEqual([{ provider: "openai", outcome: "overloaded", calls: 1 }]);
  });
});
