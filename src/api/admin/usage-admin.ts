import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { MoneySchema } from "../../../gen/ts/google/type/money_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportResponseSchema, UsageDimension, UsageReportRowSchema, type UsageReportRow } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import type { LedgerStore, UsageGroup, UsageTotals } from "../../usage/ledger-store.js";
import { moneyParts } from "../../usage/pricing.js";
import { Violations } from "../validate.js";
import { parseName } from "./key-admin.js";

export interface UsageAdminDeps {
  ledger: LedgerStore;
  /** The accounting currency (the total's, when the window holds no row). */
  currency: string;
  /** Writes queued ledger rows first, so a report includes calls that just ended on this instance. */
  flush(): Promise<void>;
}

const DEFAULT_WINDOW_MS = 30 * 86_400_000;

const GROUPS: Partial<Record<UsageDimension, UsageGroup>> = {
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.MODEL]: "model",
  [UsageDimension.KEY]: "key",
  [UsageDimension.TEAM]: "team",
  [UsageDimension.DAY]: "day",
};

/** AdminService.GetUsageReport: sums from the usage ledger, grouped as asked. */
export function createUsageAdmin(deps: UsageAdminDeps): Partial<ServiceImpl<typeof AdminService>> {
  return {
    async getUsageReport(req) {
      const v = new Violations();
      const endMs = req.endTime ? timestampMs(req.endTime) : Date.now();
      const startMs = req.startTime ? timestampMs(req.startTime) : endMs - DEFAULT_WINDOW_MS;
      if (startMs >= endMs) v.add("start_time", "must be before end_time");
      const groupBy = req.groupBy.map((dimension, i) => {
        const group = GROUPS[dimension];
        if (!group) v.add(`group_by[${i}]`, "must be PROVIDER, MODEL, KEY, TEAM or DAY");
        return group!;
      });
      const keyId = req.key ? (req.key === "keys/master" ? "master" : safeKeyId(v, req.key)) : undefined;
      v.throwIfAny();

      await deps.flush().catch(() => {});
      const rows = await deps.ledger.report({ startMs, endMs, keyId, team: req.team || undefined, provider: req.provider || undefined, model: req.model || undefined, groupBy });
      return create(GetUsageReportResponseSchema, {
        rows: rows.map((totals) => toRow(totals)),
        total: toRow(sum(rows, deps.currency)),
        startTime: timestampFromMs(startMs),
        endTime: timestampFromMs(endMs),
      });
    },
  };
}

function safeKeyId(v: Violations, name: string): string | undefined {
  try {
    return parseName(name, "key");
  } catch {
    v.add("key", `must be a key's resource name, "keys/{key}"; got "${name}"`);
    return undefined;
  }
}

function toRow(totals: UsageTotals): UsageReportRow {
  return create(UsageReportRowSchema, {
    provider: totals.provider ?? "",
    model: totals.model ?? "",
    key: totals.keyId === undefined ? "" : `keys/${totals.keyId}`,
    team: totals.team ?? "",
    day: totals.dayMs === undefined ? undefined : timestampFromMs(totals.dayMs),
    requests: BigInt(totals.requests),
    errors: BigInt(totals.errors),
    promptTokens: BigInt(totals.promptTokens),
    completionTokens: BigInt(totals.completionTokens),
    cachedTokens: BigInt(totals.cachedTokens),
    cost: create(MoneySchema, { currencyCode: totals.currency, ...moneyParts(totals.costNanos) }),
    downgraded: BigInt(totals.downgraded),
    cacheHits: BigInt(totals.cacheHits),
    meanLatency: durationFromMs(Math.round(totals.meanLatencyMs)),
  });
}

function sum(rows: UsageTotals[], currency: string): UsageTotals {
  const total: UsageTotals = {
    currency: rows[0]?.currency ?? currency,
    requests: 0,
    errors: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    costNanos: 0,
    downgraded: 0,
    cacheHits: 0,
    meanLatencyMs: 0,
  };
  let latency = 0;
  for (const row of rows) {
    total.requests += row.requests;
    total.errors += row.errors;
    total.promptTokens += row.promptTokens;
    total.completionTokens += row.completionTokens;
    total.cachedTokens += row.cachedTokens;
    total.costNanos += row.costNanos;
    total.downgraded += row.downgraded;
    total.cacheHits += row.cacheHits;
    latency += row.meanLatencyMs * row.requests;
  }
  total.meanLatencyMs = total.requests > 0 ? latency / total.requests : 0;
  return total;
}
