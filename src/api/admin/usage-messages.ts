import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { MoneySchema } from "../../../gen/ts/google/type/money_pb.js";
import { UsageReportRowSchema, type UsageReportRow } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import type { UsageTotals } from "../../usage/ledger-store.js";
import { moneyParts } from "../../usage/pricing.js";
import { KEY_NAME } from "./resource-names.js";

/** One row of a usage report as the API shows it. */
export function toReportRow(totals: UsageTotals): UsageReportRow {
  return create(UsageReportRowSchema, {
    provider: totals.provider ?? "",
    model: totals.model ?? "",
    key: totals.keyId === undefined ? "" : KEY_NAME.format({ key: totals.keyId }),
    team: totals.team ?? "",
    surface: totals.surface ?? "",
    day: totals.dayMs === undefined ? undefined : timestampFromMs(totals.dayMs),
    requests: BigInt(totals.requests),
    errors: BigInt(totals.errors),
    promptTokens: BigInt(totals.promptTokens),
    completionTokens: BigInt(totals.completionTokens),
    cachedTokens: BigInt(totals.cachedTokens),
    cost: create(MoneySchema, { currencyCode: totals.currency, ...moneyParts(totals.costNanos) }),
    downgraded: BigInt(totals.downgraded),
    cacheHits: BigInt(totals.cacheHits),
    savedCost: create(MoneySchema, { currencyCode: totals.currency, ...moneyParts(totals.savedCostNanos) }),
    meanLatency: durationFromMs(Math.round(totals.meanLatencyMs)),
  });
}

/** The report's total row: the rows summed, latency weighted by requests; `currency` when there is no row. */
export function sumRows(rows: UsageTotals[], currency: string): UsageTotals {
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
    savedCostNanos: 0,
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
    total.savedCostNanos += row.savedCostNanos;
    latency += row.meanLatencyMs * row.requests;
  }
  total.meanLatencyMs = total.requests > 0 ? latency / total.requests : 0;
  return total;
}
