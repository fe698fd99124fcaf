// Every time GetUsageReport and GetUsageStats give back is one a
// google.protobuf.Timestamp can name (0001-01-01 to 9999-12-31): the JSON
// encoder refuses any other, and the caller got Internal for a request that
// looked valid (a chart's start aligned down before year 1, a default window
// reaching before it, a hand-made page token's window).
import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { GetUsageStatsRequestSchema, GetUsageStatsResponseSchema, type GetUsageStatsRequest, type GetUsageStatsResponse } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { GetUsageReportRequestSchema, GetUsageReportResponseSchema, type GetUsageReportRequest, type GetUsageReportResponse } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { createUsageAdmin } from "../../src/api/admin/usage-admin.js";
import { EARLIEST_MS, LATEST_MS } from "../../src/api/admin/usage-requests.js";
import { createUsageStats } from "../../src/api/admin/usage-stats.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { MASTER_KEY, startGateway } from "../support/gateway.js";
import { openMigratedDatabase } from "../support/stores.js";

const DAY_MS = 86_400_000;
const ctx = { values: createContextValues() } as unknown as HandlerContext;
const at = (iso: string) => timestampFromMs(Date.parse(iso));

/** The field violations of a refused call. */
async function violations(call: Promise<unknown>): Promise<{ field: string; description: string }[]> {
  const error = await call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  expect(error?.code).toBe(Code.InvalidArgument);
  return error!.findDetails(BadRequestSchema)[0]!.fieldViolations.map(({ field, description }) => ({ field, description }));
}

/** A report token as a caller can make one: the digest is a SHA-256 of fields the caller knows. */
function handMadeToken(window: [number, number], req: GetUsageReportRequest): string {
  const time = (t: GetUsageReportRequest["startTime"]) => (t ? [String(t.seconds), t.nanos] : null);
  const digest = createHash("sha256")
    .update(JSON.stringify([time(req.startTime), time(req.endTime), req.key, req.team, req.provider, req.model, req.surface, req.groupBy]))
    .digest("base64url")
    .slice(0, 16);
  return Buffer.from(JSON.stringify(["GetUsageReport", [1, window[0], window[1], digest]])).toString("base64url");
}

describe("usage answers' times", () => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let deps: Parameters<typeof createUsageAdmin>[0];

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase("sqlite"));
    deps = { ledger: new LedgerStore(db), currency: "USD", flush: async () => {} };
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  const stats = async (request: Omit<Partial<GetUsageStatsRequest>, "$typeName">) => createUsageStats(deps).getUsageStats(create(GetUsageStatsRequestSchema, request), ctx) as Promise<GetUsageStatsResponse>;
  const report = async (request: Omit<Partial<GetUsageReportRequest>, "$typeName">) =>
    createUsageAdmin(deps).getUsageReport(create(GetUsageReportRequestSchema, request), ctx) as Promise<GetUsageReportResponse>;

  it("GetUsageStats refuses a start that a bucket_width not dividing it aligns before 0001-01-01, naming start_time", async () => {
    for (const [endTime, bucketWidth] of [
      ["0001-03-01T00:00:00Z", { seconds: 2_678_400n, nanos: 0 }],
      ["0001-01-09T00:00:00Z", { seconds: 604_800n, nanos: 0 }],
    ] as const) {
      expect(await violations(stats({ startTime: at("0001-01-01T00:00:00Z"), endTime: at(endTime), bucketWidth: { $typeName: "google.protobuf.Duration", ...bucketWidth } }))).toEqual([
        {
          field: "start_time",
          description: "aligned down to a whole bucket_width, falls before 0001-01-01T00:00:00Z: ask for a later start_time or a bucket_width that divides it",
        },
      ]);
    }
  });

  it("GetUsageStats and GetUsageReport start a default window no earlier than 0001-01-01, and their answers encode", async () => {
    const chart = await stats({ endTime: at("0001-01-01T05:00:00Z") });
    expect(timestampMs(chart.startTime!)).toBe(EARLIEST_MS);
    expect(() => toJson(GetUsageStatsResponseSchema, chart)).not.toThrow();
    const rows = await report({ endTime: at("0001-01-05T00:00:00Z") });
    expect(timestampMs(rows.startTime!)).toBe(EARLIEST_MS);
    expect(() => toJson(GetUsageReportResponseSchema, rows)).not.toThrow();
  });

  it("GetUsageStats and GetUsageReport take an end in 9999-12-31's last half millisecond, and their answers encode", async () => {
    // Rounded to the millisecond, it was one past the last a Timestamp names: the answer could not be encoded, Internal.
    const lastNano = create(TimestampSchema, { seconds: 253_402_300_799n, nanos: 999_999_999 });
    const chart = await stats({ startTime: at("9999-12-31T00:00:00Z"), endTime: lastNano });
    expect(timestampMs(chart.endTime!)).toBe(LATEST_MS);
    expect(() => toJson(GetUsageStatsResponseSchema, chart)).not.toThrow();
    const rows = await report({ endTime: lastNano });
    expect(timestampMs(rows.endTime!)).toBe(LATEST_MS);
    expect(() => toJson(GetUsageReportResponseSchema, rows)).not.toThrow();
  });

  it("GetUsageReport refuses a hand-made page token whose window its first page could not have had", async () => {
    const bare = create(GetUsageReportRequestSchema, {});
    const refused = { field: "page_token", description: "is not a token from a previous GetUsageReport response" };
    // The audit's token: a window from -2^53 to 2^53 ms, past Timestamp's range both ways.
    expect(await violations(report({ pageToken: handMadeToken([-9_007_199_254_740_991, 9_007_199_254_740_991], bare) }))).toEqual([refused]);
    const now = Date.now();
    // An unset start is the default window before the end, not any other.
    expect(await violations(report({ pageToken: handMadeToken([now - 400 * DAY_MS, now - DAY_MS], bare) }))).toEqual([refused]);
    // A window the request sets must be the token's.
    const set = { startTime: at("2026-01-01T00:00:00Z"), endTime: at("2026-02-01T00:00:00Z") };
    expect(await violations(report({ ...set, pageToken: handMadeToken([Date.parse("2025-01-01"), Date.parse("2026-02-01")], create(GetUsageReportRequestSchema, set)) }))).toEqual([refused]);
    // A token the first page could have issued still continues it.
    await expect(report({ ...set, pageToken: handMadeToken([Date.parse("2026-01-01"), Date.parse("2026-02-01")], create(GetUsageReportRequestSchema, set)) })).resolves.toBeDefined();
    await expect(report({ pageToken: handMadeToken([now - DAY_MS - 30 * DAY_MS, now - DAY_MS], bare) })).resolves.toBeDefined();
  });
});

describe("the audit's requests, over Connect JSON", () => {
  it("are InvalidArgument naming the field, and logged as such, not Internal logged as ok", async () => {
    const gw = await startGateway({});
    try {
      const post = (method: string, body: unknown) =>
        fetch(`${gw.url}/switchboard.v1.AdminService/${method}`, {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const chart = await post("GetUsageStats", { startTime: "0001-01-01T00:00:00Z", endTime: "0001-03-01T00:00:00Z", bucketWidth: "2678400s" });
      expect(chart.status).toBe(400);
      expect(((await chart.json()) as { code: string; message: string }).message).toMatch(/^start_time: aligned down to a whole bucket_width/);
      const token = handMadeToken([-9_007_199_254_740_991, 9_007_199_254_740_991], create(GetUsageReportRequestSchema, {}));
      const pages = await post("GetUsageReport", { pageToken: token });
      expect(pages.status).toBe(400);
      expect(((await pages.json()) as { message: string }).message).toBe("page_token: is not a token from a previous GetUsageReport response");
      const statuses = gw.logs.entries.filter((entry) => /GetUsage(Stats|Report)$/.test(entry.method ?? "")).map((entry) => entry.status);
      expect(statuses).toEqual(["invalid_argument", "invalid_argument"]);
    } finally {
      await gw.stop();
    }
  });
});
