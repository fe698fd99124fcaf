import { timestampMs } from "@bufbuild/protobuf/wkt";
import { UsageDimension, type GetUsageReportRequest } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import type { UsageGroup, UsageQuery } from "../../usage/ledger-store.js";
import type { FieldViolations } from "../aip/field-violations.js";
import { KEY_NAME } from "./resource-names.js";

/** Without a start time, a report covers the 30 days before its end. */
const DEFAULT_WINDOW_MS = 30 * 86_400_000;

const GROUPS: Partial<Record<UsageDimension, UsageGroup>> = {
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.MODEL]: "model",
  [UsageDimension.KEY]: "key",
  [UsageDimension.TEAM]: "team",
  [UsageDimension.SURFACE]: "surface",
  [UsageDimension.DAY]: "day",
};

/** GetUsageReport's request as a ledger query. */
export function readUsageReport(req: GetUsageReportRequest, v: FieldViolations, now: number): UsageQuery {
  const endMs = req.endTime ? timestampMs(req.endTime) : now;
  const startMs = req.startTime ? timestampMs(req.startTime) : endMs - DEFAULT_WINDOW_MS;
  if (startMs >= endMs) v.add("start_time", "must be before end_time");
  const groupBy = req.groupBy.map((dimension, i) => {
    const group = GROUPS[dimension];
    if (!group) v.add(`group_by[${i}]`, "must be PROVIDER, MODEL, KEY, TEAM, SURFACE or DAY");
    return group!;
  });
  return { startMs, endMs, ...readUsageFilters(req, v), surface: req.surface || undefined, groupBy };
}

/** A usage request's filters (key, team, provider, model) as a ledger query's; empty means every one. */
export function readUsageFilters(req: { key: string; team: string; provider: string; model: string }, v: FieldViolations): Pick<UsageQuery, "keyId" | "team" | "provider" | "model"> {
  return {
    keyId: req.key ? KEY_NAME.read(req.key, "key", v)?.key : undefined,
    team: req.team || undefined,
    provider: req.provider || undefined,
    model: req.model || undefined,
  };
}
