// The store behind previous_response_id, on both engines: a response belongs
// to its key, lives until its TTL passes (a clock the test drives), and
// expired ones are pruned.
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageSchema, Role, ToolCallSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { responseTtlFromEnv, StoredResponses } from "../../src/responses/stored-responses.js";
import { createPostgresDatabase, tempDir, type StoreKind } from "../support/stores.js";

const HOUR = 3_600_000;

const conversation = [
  create(MessageSchema, { role: Role.USER, content: "weather in Paris" }),
  create(MessageSchema, {
    role: Role.ASSISTANT,
    toolCalls: [create(ToolCallSchema, { id: "toolu_1", name: "lookup", arguments: '{"query":"Paris"}' })],
    reasoning: [create(ReasoningBlockSchema, { text: "think", signature: "sig" })],
    reasoningContent: "think",
  }),
  create(MessageSchema, { role: Role.TOOL, toolCallId: "toolu_1", content: "sunny" }),
];

describe.each<StoreKind>(["sqlite", "postgres"])("stored responses on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let now = Date.UTC(2026, 5, 1);
  let stored: StoredResponses;

  beforeAll(async () => {
    if (kind === "sqlite") db = new SqliteDatabase(join(tempDir(), "store.db"));
    else {
      const pg = await createPostgresDatabase();
      db = new PostgresDatabase(pg.url);
      drop = pg.drop;
    }
    await migrate(db);
    stored = new StoredResponses(db, { ttlMs: 24 * HOUR, now: () => now });
  });
  afterAll(async () => {
    await db?.close();
    await drop();
  });

  it("gives a response back whole to its key only, until its TTL passes", async () => {
    await stored.put("resp_a", "team-a", { conversation, response: { id: "resp_a", object: "response" } });
    const found = await stored.get("resp_a", "team-a");
    expect(found?.response).toEqual({ id: "resp_a", object: "response" });
    expect(found?.conversation).toEqual(conversation);
    expect(await stored.get("resp_a", "team-b")).toBeUndefined();
    expect(await stored.delete("resp_a", "team-b")).toBe(false);

    now += 23 * HOUR;
    expect(await stored.get("resp_a", "team-a")).toBeDefined();
    now += 2 * HOUR;
    expect(await stored.get("resp_a", "team-a")).toBeUndefined();
    expect(await stored.delete("resp_a", "team-a")).toBe(false);
  });

  it("commits responses kept at the same time together, each one whole", async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `resp_many_${i}`);
    await Promise.all(ids.map((id) => stored.put(id, "team-a", { conversation, response: { id } })));
    for (const id of ids) expect((await stored.get(id, "team-a"))?.response).toEqual({ id });
  });

  it("prunes what expired, and deletes on its key's word", async () => {
    await stored.put("resp_b", "team-a", { conversation, response: {} });
    expect(await stored.delete("resp_b", "team-a")).toBe(true);
    expect(await stored.get("resp_b", "team-a")).toBeUndefined();

    await stored.put("resp_c", "team-a", { conversation, response: {} });
    const before = await stored.count();
    now += 25 * HOUR;
    expect(await stored.prune()).toBeGreaterThanOrEqual(1);
    expect(await stored.count()).toBeLessThan(before);
  });
});

describe("the TTL setting", () => {
  it("is 30 days unless SWITCHBOARD_RESPONSES_TTL_HOURS says otherwise, and refuses nonsense", () => {
    expect(responseTtlFromEnv({})).toBe(30 * 24 * HOUR);
    expect(responseTtlFromEnv({ SWITCHBOARD_RESPONSES_TTL_HOURS: "2" })).toBe(2 * HOUR);
    expect(() => responseTtlFromEnv({ SWITCHBOARD_RESPONSES_TTL_HOURS: "soon" })).toThrow(/SWITCHBOARD_RESPONSES_TTL_HOURS/);
  });
});
