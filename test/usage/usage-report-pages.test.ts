// GetUsageReport answers a page of rows at a time. A report grouped by key,
// model and day has a row for every combination that called (1,000 keys on
// 20 models over 30 days: 600,000), which one answer cannot carry. Pages
// neither skip nor repeat a row (ties in cost are broken by the group values),
// the total is the whole report's on every page, and a page token continues
// only the report it came from, in the window of its first page.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { GetUsageReportRequestSchema, UsageDimension, type GetUsageReportRequest, type GetUsageReportResponse } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { createUsageAdmin, type UsageAdmin } from "../../src/api/admin/usage-admin.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const KEYS = 50;
const MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "o4-mini", "gpt-5"];
const DAYS = 5;
/** One row per key, model and day: past the default page of 1,000. */
const GROUPS = KEYS * MODELS.length * DAYS;

/** A call of `key` on `model` on day `day`; most cost the same, so the order rests on its tie-break. */
function call(key: number, model: number, day: number): LedgerRow {
  return {
    atMs: START + day * DAY + key * 1000 + model,
    requestId: `req-${key}-${model}-${day}`,
    keyId: `key-${String(key).padStart(2, "0")}`,
    team: key % 2 === 0 ? "even" : "odd",
    method: "chat",
    provider: "openai",
    requestedModel: MODELS[model]!,
    servedModel: MODELS[model]!,
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 0,
    costNanos: key % 7 === 0 ? 3_000 : 1_000,
    currency: "USD",
    latencyMs: 20,
    status: "ok",
    cacheHit: false,
    downgraded: false,
    attempts: [],
  };
}

// The service reads only who calls (no principal here: the master key's reach).
const ctx = { values: createContextValues() } as unknown as HandlerContext;
const WINDOW = { startTime: timestampFromMs(START), endTime: timestampFromMs(START + DAYS * DAY) };
const BY_KEY_MODEL_DAY = [UsageDimension.KEY, UsageDimension.MODEL, UsageDimension.DAY];

describe.each<StoreKind>(["sqlite", "postgres"])("GetUsageReport pages on %s", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let admin: UsageAdmin;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    const ledger = new LedgerStore(db);
    const rows: LedgerRow[] = [];
    for (let key = 0; key < KEYS; key++) for (let model = 0; model < MODELS.length; model++) for (let day = 0; day < DAYS; day++) rows.push(call(key, model, day));
    await ledger.insert(rows);
    admin = createUsageAdmin({ ledger, currency: "USD", flush: async () => {} });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  type Asked = Omit<Partial<GetUsageReportRequest>, "$typeName">;
  const report = (request: Asked) => admin.getUsageReport(create(GetUsageReportRequestSchema, { ...WINDOW, ...request }), ctx) as Promise<GetUsageReportResponse>;
  const label = (row: GetUsageReportResponse["rows"][number]) => `${row.key} ${row.model} ${row.day ? timestampMs(row.day) : ""}`;

  async function refusal(request: Asked): Promise<string[]> {
    const error = await report(request).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    return error!.findDetails(BadRequestSchema)[0]!.fieldViolations.map((violation) => `${violation.field}: ${violation.description}`);
  }

  it("answers at most 1,000 rows unasked, with a token for the rest, and the whole report's total", async () => {
    const first = await report({ groupBy: BY_KEY_MODEL_DAY });
    expect(first.rows).toHaveLength(1000);
    expect(first.nextPageToken).not.toBe("");
    expect(Number(first.total!.requests)).toBe(GROUPS);
  });

  it("gives every row exactly once across pages, in the report's order, the total on each", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await report({ groupBy: BY_KEY_MODEL_DAY, pageSize: 97, pageToken });
      expect(page.rows.length).toBeLessThanOrEqual(97);
      expect(Number(page.total!.requests)).toBe(GROUPS);
      expect(Number(page.total!.cost!.nanos) + Number(page.total!.cost!.units) * 1e9).toBe(Array.from({ length: KEYS }, (_, k): number => (k % 7 === 0 ? 3_000 : 1_000)).reduce((a, b) => a + b) * MODELS.length * DAYS);
      seen.push(...page.rows.map(label));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(Math.ceil(GROUPS / 97));
    expect(new Set(seen).size).toBe(GROUPS);
    // The same order as the one-page report: by day, dearest first, ties by key then model.
    const whole = await report({ groupBy: BY_KEY_MODEL_DAY, pageSize: 5000 });
    expect(whole.nextPageToken).toBe("");
    expect(whole.rows.map(label)).toEqual(seen);
    expect(seen.slice(0, 3)).toEqual([`keys/key-00 gpt-4.1 ${START}`, `keys/key-00 gpt-4o ${START}`, `keys/key-00 gpt-4o-mini ${START}`]);
  });

  it("keeps the first page's window when end_time is unset", async () => {
    const first = await report({ endTime: undefined, startTime: WINDOW.startTime, groupBy: [UsageDimension.KEY], pageSize: 10 });
    const second = await report({ endTime: undefined, startTime: WINDOW.startTime, groupBy: [UsageDimension.KEY], pageSize: 10, pageToken: first.nextPageToken });
    expect(second.endTime).toEqual(first.endTime);
    expect(second.rows.map((row) => row.key)).not.toContain(first.rows[0]!.key);
  });

  it("refuses a token of another report, filter or window, a made-up one and a negative page size, naming the field", async () => {
    const { nextPageToken } = await report({ groupBy: [UsageDimension.KEY], pageSize: 5 });
    const another = "page_token: was issued for another report: ask again from the first page with this one";
    expect(await refusal({ groupBy: [UsageDimension.MODEL], pageSize: 5, pageToken: nextPageToken })).toEqual([another]);
    expect(await refusal({ groupBy: [UsageDimension.KEY], team: "even", pageSize: 5, pageToken: nextPageToken })).toEqual([another]);
    expect(await refusal({ groupBy: [UsageDimension.KEY], endTime: timestampFromMs(START + DAYS * DAY - 1000), pageSize: 5, pageToken: nextPageToken })).toEqual([another]);
    expect(await refusal({ groupBy: [UsageDimension.KEY], pageToken: "bm90LWEtdG9rZW4" })).toEqual(["page_token: is not a token from a previous GetUsageReport response"]);
    expect(await refusal({ groupBy: [UsageDimension.KEY], pageSize: -1 })).toEqual(["page_size: must not be negative"]);
    // Another page size continues the same report.
    expect((await report({ groupBy: [UsageDimension.KEY], pageSize: 100, pageToken: nextPageToken })).rows).toHaveLength(KEYS - 5);
  });
});
