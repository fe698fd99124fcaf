import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { hasControlCharacter } from "../../common/control-characters.js";
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

/** The years a Timestamp may name (google.protobuf.Timestamp: 0001-01-01 to 9999-12-31, UTC), in seconds. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * A report window's end in epoch ms: the request's time, or `fallback` when
 * unset. A Timestamp outside its own range (or with nanos past a second) is
 * a violation: the ledger's BIGINT and a JavaScript number hold every time
 * within it, and nothing outside.
 */
export function readTime(time: Timestamp | undefined, field: string, v: FieldViolations, fallback: number): number {
  if (!time) return fallback;
  if (time.seconds < MIN_SECONDS || time.seconds > MAX_SECONDS || time.nanos < 0 || time.nanos > 999_999_999) {
    v.add(field, "must be a time from 0001-01-01 to 9999-12-31 (seconds and nanos as google.protobuf.Timestamp has them)");
    return fallback;
  }
  return timestampMs(time);
}

/** GetUsageReport's request as a ledger query. */
export function readUsageReport(req: GetUsageReportRequest, v: FieldViolations, now: number): UsageQuery {
  const endMs = readTime(req.endTime, "end_time", v, now);
  const startMs = readTime(req.startTime, "start_time", v, endMs - DEFAULT_WINDOW_MS);
  if (startMs >= endMs) v.add("start_time", "must be before end_time");
  const groupBy = req.groupBy.map((dimension, i) => {
    const group = GROUPS[dimension];
    if (!group) v.add(`group_by[${i}]`, "must be PROVIDER, MODEL, KEY, TEAM, SURFACE or DAY");
    return group!;
  });
  return { startMs, endMs, ...readUsageFilters(req, v), surface: readFilter(req.surface, "surface", v), groupBy };
}

/** A usage request's filters (key, team, provider, model) as a ledger query's; empty means every one. */
export function readUsageFilters(req: { key: string; team: string; provider: string; model: string }, v: FieldViolations): Pick<UsageQuery, "keyId" | "team" | "provider" | "model"> {
  return {
    keyId: req.key ? KEY_NAME.read(req.key, "key", v)?.key : undefined,
    team: readFilter(req.team, "team", v),
    provider: readFilter(req.provider, "provider", v),
    model: readFilter(req.model, "model", v),
  };
}

/** Filter values are compared with the ledger's text: at most 256 characters, none a control character (Postgres text holds no NUL). */
const MAX_FILTER_CHARS = 256;

function readFilter(value: string, field: string, v: FieldViolations): string | undefined {
  if (!value) return undefined;
  if (value.length > MAX_FILTER_CHARS) v.add(field, `must be at most ${MAX_FILTER_CHARS} characters, got ${value.length}`);
  else if (hasControlCharacter(value)) v.add(field, "must not contain control characters");
  return value;
}
