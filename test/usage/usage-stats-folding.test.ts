// GetUsageStats keeps the series that cost the most and folds the rest into
// "(other)". The ledger ranks the groups and folds the rest in SQL, so that
// an answer reads rows for the series it holds however many groups callers
// made: here on both stores, against the fold the gateway did in memory over
// every group's rows (the oracle below), which the answer must equal.
import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetUsageStatsRequestSchema, type GetUsageStatsResponse, type UsageSeries } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { createUsageStats, type UsageStatsAdmin } from "../../src/api/admin/usage-stats.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { LedgerStore, type LedgerRow, type UsageTotals } from "../../src/usage/ledger-store.js";
import { moneyParts } from "../../src/usage/pricing.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 1);
const HOURS = 6;
/** Models under names of the callers' making: past the 20 series an answer holds. */
const MODELS = 45;

/**
 * Calls of `model` in hour `hour`: costs that rank most models apart, some
 * equal in cost and told apart by their number of calls, some equal in both
 * (told apart by name), a few errors and latencies that differ, so the
 * folded series' sums and mean latency show.
 */
function calls(model: number, hour: number): LedgerRow[] {
  if ((model + hour) % 4 === 0) return []; // not every model every hour
  const count = 1 + (model % 3);
  return Array.from({ length: count }, (_, i) => ({
    atMs: START + hour * HOUR + model * 1000 + i,
    requestId: `req-${model}-${hour}-${i}`,
    keyId: `key-${model % 5}`,
    team: model % 2 === 0 ? "even" : "odd",
    method: "chat",
    provider: "openai",
    requestedModel: `gpt-made-up-${model}`,
    servedModel: `gpt-made-up-${String(model).padStart(2, "0")}`,
    promptTokens: 10 + model,
    completionTokens: 5 + hour,
    cachedTokens: 0,
    costNanos: model < 10 ? (model + 1) * 1_000_000 : model < 30 ? (6 - (model % 6)) * 100_000 : 50_000 * (3 - (model % 3)) / count,
    currency: "USD",
    latencyMs: 20 + model + 7 * i,
    status: (model + i) % 5 === 0 ? "unavailable" : "ok",
    cacheHit: false,
    downgraded: false,
    attempts: [],
  }));
}

// The service reads only who calls (no principal here: the master key's reach).
const ctx = { values: createContextValues() } as unknown as HandlerContext;

/** A series as the test compares it: every bucket's figures, its cost as Money parts. */
function shown(series: UsageSeries[]) {
  return series.map((s) => ({
    group: s.group,
    foldedGroups: s.foldedGroups,
    buckets: s.buckets.map((b) => ({
      start: timestampMs(b.startTime!),
      requests: b.requests,
      errors: b.errors,
      promptTokens: b.promptTokens,
      completionTokens: b.completionTokens,
      cost: [b.cost!.currencyCode, b.cost!.units, b.cost!.nanos],
      meanLatencyMs: durationMs(b.meanLatency!),
    })),
  }));
}

/** The fold as the gateway did it over every group's rows (ledger.report): the answer must be the same. */
function foldedInMemory(rows: UsageTotals[], maxSeries: number) {
  const groups = new Map<string, { rows: UsageTotals[]; cost: number; requests: number }>();
  for (const row of rows) {
    const entry = groups.get(row.model!) ?? { rows: [], cost: 0, requests: 0 };
    groups.set(row.model!, entry);
    entry.rows.push(row);
    entry.cost += row.costNanos;
    entry.requests += row.requests;
  }
  const ranked = [...groups].sort(([a, x], [b, y]) => y.cost - x.cost || y.requests - x.requests || (a < b ? -1 : 1));
  const bucket = (rowsOfBucket: UsageTotals[]) => {
    const requests = rowsOfBucket.reduce((sum, r) => sum + r.requests, 0);
    const cost = rowsOfBucket.reduce((sum, r) => sum + r.costNanos, 0);
    const money = moneyParts(cost);
    return {
      start: rowsOfBucket[0]!.dayMs!,
      requests: BigInt(requests),
      errors: BigInt(rowsOfBucket.reduce((sum, r) => sum + r.errors, 0)),
      promptTokens: BigInt(rowsOfBucket.reduce((sum, r) => sum + r.promptTokens, 0)),
      completionTokens: BigInt(rowsOfBucket.reduce((sum, r) => sum + r.completionTokens, 0)),
      cost: ["USD", money.units, money.nanos],
      meanLatencyMs: Math.round(rowsOfBucket.reduce((sum, r) => sum + r.meanLatencyMs * r.requests, 0) / requests),
    };
  };
  const byBucket = (of: UsageTotals[]) => {
    const buckets = new Map<number, UsageTotals[]>();
    for (const row of of) buckets.set(row.dayMs!, [...(buckets.get(row.dayMs!) ?? []), row]);
    return [...buckets].sort(([a], [b]) => a - b).map(([, inBucket]) => bucket(inBucket));
  };
  const series = ranked.slice(0, maxSeries).map(([group, entry]) => ({ group, foldedGroups: 0, buckets: byBucket(entry.rows) }));
  const rest = ranked.slice(maxSeries);
  if (rest.length > 0) series.push({ group: "(other)", foldedGroups: rest.length, buckets: byBucket(rest.flatMap(([, entry]) => entry.rows)) });
  return series;
}

describe.each<StoreKind>(["sqlite", "postgres"])("GetUsageStats' series on %s", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let ledger: LedgerStore;
  let stats: UsageStatsAdmin;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    ledger = new LedgerStore(db);
    const rows = Array.from({ length: MODELS }, (_, model) => Array.from({ length: HOURS }, (_, hour) => calls(model, hour))).flat(2);
    await ledger.insert(rows);
    stats = createUsageStats({ ledger, currency: "USD", flush: async () => {} });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  const window = { startMs: START, endMs: START + HOURS * HOUR };
  const ask = (maxSeries = 0) =>
    stats.getUsageStats(
      create(GetUsageStatsRequestSchema, { startTime: timestampFromMs(window.startMs), endTime: timestampFromMs(window.endMs), bucketWidth: { seconds: 3600n }, groupBy: UsageDimension.MODEL, maxSeries }),
      ctx,
    ) as Promise<GetUsageStatsResponse>;
  const everyGroup = () => ledger.report({ ...window, groupBy: ["model", "day"], bucketMs: HOUR });

  it("answers what the fold over every group's rows answered: the 20 that cost the most, then (other)", async () => {
    const answer = shown((await ask()).series);
    expect(answer).toHaveLength(21);
    expect(answer.at(-1)).toMatchObject({ group: "(other)", foldedGroups: MODELS - 20 });
    expect(answer).toEqual(foldedInMemory(await everyGroup(), 20));
    for (const maxSeries of [1, 7, 44, 45, 100]) expect(shown((await ask(maxSeries)).series), `max_series ${maxSeries}`).toEqual(foldedInMemory(await everyGroup(), maxSeries));
  });

  it("reads rows for the series it answers only, however many groups there are", async () => {
    const { top, rest, folded } = await ledger.topGroups({ ...window, groupBy: [], bucketMs: HOUR }, "model", 5);
    expect(folded).toBe(MODELS - 5);
    expect(new Set(top.map((row) => row.model)).size).toBe(5);
    expect(rest.length).toBeLessThanOrEqual(HOURS);
    expect(rest.every((row) => row.model === undefined)).toBe(true);
  });
});
