import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { migrate } from "../../src/store/migrations.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerJournal, type JournalEntry, type ProvisionalMark } from "../../src/usage/ledger-journal.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { UsageLedger } from "../../src/usage/usage-ledger.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const logger = createLogger("silent");
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, "_");
// A pid no process has (above Linux's pid_max).
const DEAD_PID = 2_147_483_646;
const PERIOD = { startMs: 1_772_323_200_000, endMs: 1_775_001_600_000 };

/** A call's row as it ends. */
const final = (id: string): LedgerRow => ledgerRow({ requestId: id, rowKey: `key-${id}` });
/** The same call's provisional entry, as the hooks write it when its first attempt goes out. */
const provisional = (id: string, mark: ProvisionalMark = { reservation: { ...PERIOD, callId: `call-${id}` } }): JournalEntry => ({
  ...ledgerRow({ requestId: id, rowKey: `key-${id}`, status: "gateway_exited", completionTokens: 0, costNanos: 4_000, latencyMs: 0 }),
  provisional: mark,
});
/** What the hooks hand the writer as a call's first attempt goes out. */
const begun = (id: string) => {
  const { provisional: _, ...row } = provisional(id);
  return { ...row, rowKey: `key-${id}` };
};
const lines = (...entries: JournalEntry[]) => entries.map((entry) => `${JSON.stringify(entry)}\n`).join("");

/** Journal files as a killed run left them, one text per segment. */
function killedRun(dir: string, ...segments: string[]): void {
  segments.forEach((text, i) => writeFileSync(join(dir, `${HOST}.${DEAD_PID}.0123456789ab.${i + 1}.jsonl`), text));
}

const opened: { db: SqliteDatabase; journals: LedgerJournal[] }[] = [];
afterEach(async () => {
  for (const { db, journals } of opened.splice(0)) {
    for (const journal of journals) journal.close();
    await db.close();
  }
});

async function world() {
  const db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
  await migrate(db);
  const entry = { db, journals: [] as LedgerJournal[] };
  opened.push(entry);
  const store = new LedgerStore(db);
  const charged: { requestId: string; mark: ProvisionalMark }[] = [];
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const ledger = (dir: string) => {
    const journal = LedgerJournal.open(dir, { logger });
    entry.journals.push(journal);
    return new UsageLedger(store, {
      flushIntervalMs: 60_000,
      batchSize: 100,
      journal,
      logger,
      metrics,
      chargeInterrupted: async (row, mark) => {
        // Charged before the row is stored: a spend rebuilt from the store meanwhile does not count it twice.
        expect(await store.byRequestIds([row.requestId])).toEqual([]);
        charged.push({ requestId: row.requestId, mark });
      },
    });
  };
  const rows = async () => {
    const found = await db.query("SELECT request_id, status, row_key, cost_nanos, completion_tokens FROM usage_ledger ORDER BY request_id");
    return found.map((row) => ({ id: row.request_id, status: row.status, rowKey: row.row_key, cost: Number(row.cost_nanos), completion: Number(row.completion_tokens) }));
  };
  return { store, ledger, rows, charged, metrics };
}

describe("provisional ledger entries of calls in flight", () => {
  it("replays a provisional entry with no row as one gateway_exited row, charged once; drops one whose row is in the journal or the store", async () => {
    const { store, ledger, rows, charged, metrics } = await world();
    const dir = tempDir("sb-interrupted-");
    // a: killed in flight. b: ended, its row beside its entry. c: a refused call (no entry). d: its row in the next file.
    // e: ended and stored before the kill, its entry still in the journal (the file held other rows).
    killedRun(dir, lines(provisional("a"), provisional("b"), final("b"), final("c"), provisional("d"), provisional("e")), lines(final("d")));
    await store.insert([final("e")]);

    const l = ledger(dir);
    await l.recover();
    expect(await rows()).toEqual([
      { id: "a", status: "gateway_exited", rowKey: "key-a", cost: 4_000, completion: 0 },
      { id: "b", status: "ok", rowKey: "key-b", cost: 6_000, completion: 2 },
      { id: "c", status: "ok", rowKey: "key-c", cost: 6_000, completion: 2 },
      { id: "d", status: "ok", rowKey: "key-d", cost: 6_000, completion: 2 },
      { id: "e", status: "ok", rowKey: "key-e", cost: 6_000, completion: 2 },
    ]);
    // Only the call with no row of its own is charged: e's row was stored (and its cost settled) by the run that died.
    expect(charged.map((c) => c.requestId)).toEqual(["a"]);
    expect(charged.find((c) => c.requestId === "a")?.mark).toEqual({ reservation: { ...PERIOD, callId: "call-a" } });
    const counted = await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    expect(counted).toContain('result="interrupted"} 1');
    expect(counted).toContain('result="replayed"} 3');
    await l.close();
    // Every entry is released: nothing is left to replay.
    expect(readdirSync(dir)).toEqual([]);

    // Replayed again (a crash mid-replay, another instance racing), nothing is stored twice.
    killedRun(dir, lines(provisional("a"), provisional("b"), final("b")));
    const again = ledger(dir);
    await again.recover();
    await again.close();
    expect((await rows()).map((row) => `${row.id}:${row.status}`)).toEqual(["a:gateway_exited", "b:ok", "c:ok", "d:ok", "e:ok"]);
  });

  it("keeps a call's provisional entry in the journal while it runs and releases it with the call's row; a call cut by the end is replayed", async () => {
    const { ledger, rows } = await world();
    const dir = tempDir("sb-interrupted-");
    const first = ledger(dir);
    first.begin(begun("done"));
    first.begin(begun("cut"), { reservation: PERIOD });
    const [file] = readdirSync(dir);
    const journaled = () => readFileSync(join(dir, file!), "utf8").trim().split("\n").filter(Boolean).map((text) => JSON.parse(text) as JournalEntry);
    expect(journaled().map((entry) => [entry.requestId, entry.provisional !== undefined])).toEqual([
      ["done", true],
      ["cut", true],
    ]);
    // Only the call that ended reaches the store; "cut" is still in flight.
    first.append(final("done"));
    await first.flush();
    expect((await rows()).map((row) => `${row.id}:${row.status}`)).toEqual(["done:ok"]);
    expect(journaled().map((entry) => entry.requestId)).toEqual(["done", "cut", "done"]);
    // The gateway ends before "cut" does (its row would come after the drain): its entry stays for the next start.
    await first.close();
    expect(readdirSync(dir)).toEqual([file]);

    const next = ledger(dir);
    await next.recover();
    await next.close();
    expect((await rows()).map((row) => `${row.id}:${row.status}`)).toEqual(["cut:gateway_exited", "done:ok"]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("empties the journal once every call in flight has its row stored", async () => {
    const { ledger } = await world();
    const dir = tempDir("sb-interrupted-");
    const l = ledger(dir);
    for (const id of ["x", "y"]) l.begin(begun(id));
    l.append(final("x"));
    await l.flush();
    const [file] = readdirSync(dir);
    // y is still in flight: its entry holds the file.
    expect(readFileSync(join(dir, file!), "utf8")).toContain('"requestId":"y"');
    l.append(final("y"));
    await l.flush();
    expect(readFileSync(join(dir, file!), "utf8")).toBe("");
    await l.close();
  });
});

describe("the provisional entry on the request path", () => {
  let usage: UsageWorld;
  beforeAll(async () => {
    usage = await startUsageWorld("sqlite", { routes: [{ model: "every-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { mode: "always" } }] });
  });
  afterAll(() => usage.close());

  it("costs one journal append per call that reaches a vendor, and none for a call that never does (refused, answered from the cache)", async () => {
    const appends = vi.spyOn(LedgerJournal.prototype, "append");
    const { secret } = await usage.admin().createKey({ keyId: "mini-only", key: { displayName: "mini only", allowedModels: ["gpt-4o-mini"] } });
    const client = usage.gw.client("connect", secret);
    const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });
    const as = (requestId: string) => ({ headers: { "x-request-id": requestId } });
    try {
      await client.chat(hi("every-model"), as("served"));
      await client.chat(hi("every-model"), as("cached"));
      for await (const _ of client.chatStream(hi("gpt-4o-mini"), as("streamed")));
      await expect(client.chat(hi("gpt-4o"), as("refused"))).rejects.toThrow(/may not use model/);
      const journaled = (requestId: string) =>
        appends.mock.calls.map(([entry]) => entry).filter((entry) => entry.requestId === requestId).map((entry) => (entry.provisional ? "provisional" : entry.status));
      expect(journaled("served")).toEqual(["provisional", "ok"]);
      expect(journaled("streamed")).toEqual(["provisional", "ok"]);
      expect(journaled("cached")).toEqual(["ok"]);
      expect(journaled("refused")).toEqual(["permission_denied"]);
      // The provisional entry is the row the call would be recorded with, under the same key as its own row.
      const [entry, row] = appends.mock.calls.map(([entry]) => entry).filter((entry) => entry.requestId === "served");
      expect(entry).toMatchObject({ status: "gateway_exited", keyId: "mini-only", provider: "openai", servedModel: "gpt-4o-mini", completionTokens: 0, provisional: {} });
      expect(entry!.promptTokens).toBeGreaterThan(0);
      expect(entry!.costNanos).toBeGreaterThan(0);
      expect(entry!.rowKey).toBe(row!.rowKey);
    } finally {
      appends.mockRestore();
    }
  });
});
