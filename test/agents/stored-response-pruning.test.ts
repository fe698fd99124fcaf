// Expired stored responses leave the store within their TTL and a pruning
// interval whatever the traffic: at start (a restart before the write-count
// pruning ran left them) and on a timer (a process serving only store: false
// writes nothing). The clock and the timer are the test's.
import { create } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { PRUNE_INTERVAL_MS, StoredResponses } from "../../src/responses/stored-responses.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const HOUR = 3_600_000;
const conversation = [create(MessageSchema, { role: Role.USER, content: "hi" }), create(MessageSchema, { role: Role.ASSISTANT, content: "hello" })];

describe.each<StoreKind>(["sqlite", "postgres"])("pruning expired stored responses on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let now = Date.UTC(2026, 5, 1);
  const clock = () => now;
  const kept = async () => (await db.query("SELECT COUNT(*) AS n FROM stored_responses"))[0]!.n;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await db?.close();
    await drop();
  });

  it("deletes them when it starts, and every interval after, however few responses it writes", async () => {
    // A process that stored a few responses and was restarted before they were pruned.
    const before = new StoredResponses(db, { ttlMs: HOUR, now: clock });
    for (const id of ["resp_old1", "resp_old2", "resp_old3"]) await before.put(id, "prune-key", { conversation, response: { id } });
    now += 2 * HOUR;

    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stored = new StoredResponses(db, { ttlMs: HOUR, now: clock });
    stored.startPruning();
    await vi.waitFor(async () => expect(Number(await kept())).toBe(0));

    // Two more, then no traffic at all: the timer prunes them once they expire.
    for (const id of ["resp_new1", "resp_new2"]) await stored.put(id, "prune-key", { conversation, response: { id } });
    now += 2 * HOUR;
    expect(Number(await kept())).toBe(2);
    vi.advanceTimersByTime(PRUNE_INTERVAL_MS);
    await vi.waitFor(async () => expect(Number(await kept())).toBe(0));

    // A live response is kept.
    await stored.put("resp_live", "prune-key", { conversation, response: { id: "resp_live" } });
    vi.advanceTimersByTime(PRUNE_INTERVAL_MS);
    await stored.close();
    expect(Number(await kept())).toBe(1);
  });
});
