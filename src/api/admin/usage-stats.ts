import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { MoneySchema } from "../../../gen/ts/google/type/money_pb.js";
import {
  GetUsageStatsResponseSchema,
  UsageBucketSchema,
  UsageSeriesSchema,
  type GetUsageStatsRequest,
  type UsageBucket,
  type UsageSeries,
} from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { principalKey } from "../../auth/principal.js";
import type { UsageGroup, UsageQuery, UsageTotals } from "../../usage/ledger-store.js";
import { moneyParts } from "../../usage/pricing.js";
import { FieldViolations } from "../aip/field-violations.js";
import { KEY_NAME } from "./resource-names.js";
import { teamWithinReach } from "./team-reach.js";
import type { UsageAdminDeps } from "./usage-admin.js";
import { defaultStart, EARLIEST_MS, readTime, readUsageFilters } from "./usage-requests.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MAX_BUCKET_MS = 31 * 24 * HOUR_MS;
const MAX_BUCKETS = 1000;
/** Without a start time, a chart covers the day before its end. */
const DEFAULT_WINDOW_MS = 24 * HOUR_MS;
/**
 * Series an answer holds, the rest summed into one "(other)" series. Any key
 * may call models, keys or teams under names of its own choosing (a key
 * scoped `gpt-4o*` may ask for `gpt-4o-<random>`, each a ledger row), so the
 * groups are the callers' to multiply: 1,500 made a 530 KB answer and a
 * chart with a 1,500-line legend. 20 by default: what a legend and a totals
 * table show at a glance, and in practice nearly all the spend (series are
 * ranked by cost); 100 at most, past which a chart says nothing more.
 */
const SERIES_LIMITS = { default: 20, max: 100 };
/** The series that sums the groups past the limit (its folded_groups tells it from a group of that name). */
const OTHER_GROUP = "(other)";

const SERIES_GROUPS: Partial<Record<UsageDimension, Exclude<UsageGroup, "day">>> = {
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.MODEL]: "model",
  [UsageDimension.KEY]: "key",
  [UsageDimension.TEAM]: "team",
};

/** The part of the AdminService that createUsageStats implements. */
export type UsageStatsAdmin = Pick<ServiceImpl<typeof AdminService>, "getUsageStats">;

/** AdminService.GetUsageStats: the usage ledger summed per time bucket, a series per group. */
export function createUsageStats(deps: UsageAdminDeps): UsageStatsAdmin {
  return {
    async getUsageStats(req, ctx) {
      const v = new FieldViolations();
      const { query, group } = readUsageStats(req, v, Date.now());
      const maxSeries = readMaxSeries(req.maxSeries, v);
      v.throwIfAny();
      query.team = teamWithinReach(ctx.values.get(principalKey), query.team, "team");
      // A store that cannot take the rows now still answers with what it has.
      await deps.flush().catch(() => {});
      return create(GetUsageStatsResponseSchema, {
        series: group ? await rankedSeries(deps, query, group, maxSeries) : [create(UsageSeriesSchema, { buckets: (await deps.ledger.report(query)).map(toBucket) })],
        startTime: timestampFromMs(query.startMs),
        endTime: timestampFromMs(query.endMs),
        bucketWidth: durationFromMs(query.bucketMs!),
      });
    },
  };
}

/** GetUsageStats' request as a ledger query: the window aligned to its buckets, grouped by bucket (and the series' dimension). */
function readUsageStats(req: GetUsageStatsRequest, v: FieldViolations, now: number): { query: UsageQuery; group?: Exclude<UsageGroup, "day"> } {
  const bucketMs = req.bucketWidth ? durationMs(req.bucketWidth) : HOUR_MS;
  if (!(bucketMs >= MINUTE_MS && bucketMs <= MAX_BUCKET_MS && bucketMs % MINUTE_MS === 0)) v.add("bucket_width", "must be whole minutes, from one minute to 31 days");
  const width = Math.max(MINUTE_MS, bucketMs - (bucketMs % MINUTE_MS));
  const endMs = readTime(req.endTime, "end_time", v, now);
  const requestedStart = readTime(req.startTime, "start_time", v, defaultStart(endMs, DEFAULT_WINDOW_MS));
  const startMs = Math.floor(requestedStart / width) * width;
  // The answer gives the aligned start back, and a Timestamp cannot name a time before 0001-01-01.
  if (startMs < EARLIEST_MS) v.add("start_time", "aligned down to a whole bucket_width, falls before 0001-01-01T00:00:00Z: ask for a later start_time or a bucket_width that divides it");
  else if (startMs >= endMs) v.add("start_time", "must be before end_time");
  else if ((endMs - startMs) / width > MAX_BUCKETS) v.add("bucket_width", `makes more than ${MAX_BUCKETS} buckets in the window: choose a wider bucket or a shorter window`);
  const group = req.groupBy === UsageDimension.UNSPECIFIED ? undefined : SERIES_GROUPS[req.groupBy];
  if (req.groupBy !== UsageDimension.UNSPECIFIED && !group) v.add("group_by", "must be PROVIDER, MODEL, KEY or TEAM (time is always a dimension here)");
  return {
    query: {
      startMs,
      endMs,
      ...readUsageFilters(req, v),
      groupBy: group ? [group, "day"] : ["day"],
      bucketMs: width,
    },
    group,
  };
}

/** max_series as AIP-158 reads a page size: 0 is the default, more than the most is the most. */
function readMaxSeries(maxSeries: number, v: FieldViolations): number {
  if (maxSeries < 0) v.add("max_series", `must be 0 (for ${SERIES_LIMITS.default}) or more`);
  return maxSeries <= 0 ? SERIES_LIMITS.default : Math.min(maxSeries, SERIES_LIMITS.max);
}

/**
 * The `maxSeries` groups that cost the most as series, the most expensive
 * first, each oldest bucket first, and the groups past those summed bucket by
 * bucket into one more. The ledger ranks and folds them: an answer reads rows
 * for the series it holds, however many groups the callers made.
 */
async function rankedSeries(deps: UsageAdminDeps, query: UsageQuery, group: Exclude<UsageGroup, "day">, maxSeries: number): Promise<UsageSeries[]> {
  const { top, rest, folded } = await deps.ledger.topGroups(query, group, maxSeries);
  const series: UsageSeries[] = [];
  // The ledger returns each group's rows together, the most expensive group first, its buckets in order.
  for (const row of top) {
    const name = groupName(row, group);
    const last = series.at(-1);
    if (last?.group === name) last.buckets.push(toBucket(row));
    else series.push(create(UsageSeriesSchema, { group: name, buckets: [toBucket(row)] }));
  }
  if (folded > 0) series.push(create(UsageSeriesSchema, { group: OTHER_GROUP, buckets: sumByBucket(rest).map(toBucket), foldedGroups: folded }));
  return series;
}

/** Rows of many groups as one row per bucket, oldest first; the mean latency weighted by each row's calls. */
function sumByBucket(rows: UsageTotals[]): UsageTotals[] {
  const buckets = new Map<number, UsageTotals>();
  for (const row of rows) {
    const start = row.dayMs ?? 0;
    const sum = buckets.get(start);
    if (!sum) {
      buckets.set(start, { ...row, provider: undefined, model: undefined, keyId: undefined, team: undefined });
      continue;
    }
    const requests = sum.requests + row.requests;
    sum.meanLatencyMs = requests > 0 ? (sum.meanLatencyMs * sum.requests + row.meanLatencyMs * row.requests) / requests : 0;
    sum.requests = requests;
    sum.errors += row.errors;
    sum.promptTokens += row.promptTokens;
    sum.completionTokens += row.completionTokens;
    sum.costNanos += row.costNanos;
  }
  return [...buckets.values()].sort((a, b) => (a.dayMs ?? 0) - (b.dayMs ?? 0));
}

function toBucket(row: UsageTotals): UsageBucket {
  return create(UsageBucketSchema, {
    startTime: timestampFromMs(row.dayMs ?? 0),
    requests: BigInt(row.requests),
    errors: BigInt(row.errors),
    promptTokens: BigInt(row.promptTokens),
    completionTokens: BigInt(row.completionTokens),
    cost: create(MoneySchema, { currencyCode: row.currency, ...moneyParts(row.costNanos) }),
    meanLatency: durationFromMs(Math.round(row.meanLatencyMs)),
  });
}

function groupName(row: UsageTotals, group: Exclude<UsageGroup, "day">): string {
  switch (group) {
    case "provider":
      return row.provider ?? "";
    case "model":
      return row.model ?? "";
    case "key":
      return row.keyId === undefined ? "" : KEY_NAME.format({ key: row.keyId });
    case "team":
      return row.team ?? "";
    case "surface":
      return row.surface ?? "";
  }
}
